using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests;

/// <summary>Small hand-built models and helpers to run models through the real ONNX Runtime.</summary>
internal static class TinyModels
{
    static TinyModels()
    {
        if (Environment.GetEnvironmentVariable("SERVERLESS_ORT_LIBRARY") is null)
        {
            Environment.SetEnvironmentVariable("SERVERLESS_ORT_LIBRARY", RepoPaths.OrtLibrary);
        }
    }

    public static IInferenceSessionFactory Factory => OnnxSessionFactory.Instance;

    public static ValueInfoProto Value(string name, int type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = shape } } };
    }

    /// <summary>x[N,3,8,8] -> Conv(4 filters 3x3) -> BatchNorm -> Relu -> Conv(1x1) -> Add(residual) -> Flatten -> MatMul[256,5] -> y.</summary>
    public static ModelProto ConvNet(int opset = 13)
    {
        var rng = new Random(7);
        float[] R(int n, float scale = 0.5f) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1) * scale).ToArray();
        var g = new GraphProto { Name = "tiny" };
        g.Input.Add(Value("x", OnnxDataType.Float, -1, 3, 8, 8));
        g.Output.Add(Value("y", OnnxDataType.Float, -1, 5));
        g.Initializer.Add(TensorProtos.Float("w1", [4, 3, 3, 3], R(108)));
        g.Initializer.Add(TensorProtos.Float("b1", [4], R(4)));
        g.Initializer.Add(TensorProtos.Float("gamma", [4], [1.1f, 0.9f, 1.2f, 0.8f]));
        g.Initializer.Add(TensorProtos.Float("beta", [4], [0.1f, -0.1f, 0.05f, 0f]));
        g.Initializer.Add(TensorProtos.Float("mean", [4], [0.01f, 0.02f, -0.03f, 0f]));
        g.Initializer.Add(TensorProtos.Float("var", [4], [1f, 0.5f, 2f, 1.5f]));
        g.Initializer.Add(TensorProtos.Float("w2", [4, 4, 1, 1], R(16)));
        g.Initializer.Add(TensorProtos.Float("wm", [256, 5], R(1280, 0.1f)));
        var conv1 = GraphEdits.Node("Conv", "conv1", ["x", "w1", "b1"], ["c1"]);
        conv1.Attribute.Add(GraphEdits.IntsAttr("pads", [1, 1, 1, 1]));
        g.Node.Add(conv1);
        g.Node.Add(GraphEdits.Node("BatchNormalization", "bn1", ["c1", "gamma", "beta", "mean", "var"], ["n1"]));
        g.Node.Add(GraphEdits.Node("Relu", "relu1", ["n1"], ["r1"]));
        g.Node.Add(GraphEdits.Node("Conv", "conv2", ["r1", "w2"], ["c2"]));
        g.Node.Add(GraphEdits.Node("Add", "add1", ["c2", "r1"], ["a1"]));
        g.Node.Add(GraphEdits.Node("Flatten", "flat", ["a1"], ["f1"]));
        g.Node.Add(GraphEdits.Node("MatMul", "fc", ["f1", "wm"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = g, ProducerName = "tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static List<CalibrationSample> Samples(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => new CalibrationSample($"s{i}", [new SampleTensor("x", [1, 3, 8, 8], Enumerable.Range(0, 192).Select(_ => (float)rng.NextDouble()).ToArray())]))
            .ToList();
    }

    /// <summary>Runs the model (bytes) on one sample and returns every output as floats.</summary>
    public static float[][] Run(byte[] model, CalibrationSample sample, GraphOptimization level = GraphOptimization.All)
    {
        using var session = Factory.Create("test", model, new SessionSettings { Optimization = level, IntraOpThreads = 1 });
        return Run(session, sample);
    }

    public static float[][] Run(IInferenceSession session, CalibrationSample sample)
    {
        var inputs = sample.Inputs.Select(t => t.ToHostTensor()).ToArray();
        var indices = Enumerable.Range(0, session.Outputs.Count).ToArray();
        var results = new IOutputTensor?[indices.Length];
        try
        {
            session.Run(inputs, indices, results);
            return results.Select(r => r!.ElementType == TensorElementType.Float
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(r.Bytes).ToArray()
                : []).ToArray();
        }
        finally
        {
            foreach (var t in inputs)
            {
                t.Dispose();
            }

            foreach (var r in results)
            {
                r?.Dispose();
            }
        }
    }

    public static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
}
