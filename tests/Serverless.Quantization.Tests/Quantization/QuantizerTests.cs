using Serverless.Core.Errors;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Quantization;
using Serverless.Quantization.Tests.Onnx;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests.Quantization;

public class QuantizerTests
{
    private static readonly Quantizer Quantizer = new(TinyModels.Factory);

    [Fact]
    public void Static_OnTinyModel_StaysCloseToFp32AndOrtFusesIntegerKernels()
    {
        var model = TinyModels.ConvNet();
        var result = Quantizer.Quantize(model, new QuantizerOptions(), TinyModels.Samples(16, 1));
        var path = Save(result.Model);
        var sample = TinyModels.Samples(1, 99)[0];

        var fp32 = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];
        var int8 = TinyModels.Run(File.ReadAllBytes(path), sample)[0];
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);

        Assert.Equal(1, result.FoldedBatchNorms);
        Assert.Equal(13, result.OpsetTo);
        Assert.True(TinyModels.MaxAbsDiff(fp32, int8) < 0.05f * fp32.Max(Math.Abs), $"max diff {TinyModels.MaxAbsDiff(fp32, int8)}");
        Assert.Equal(2, optimized.GetValueOrDefault("QLinearConv"));
        Assert.Equal(1, optimized.GetValueOrDefault("QLinearAdd"));
        Assert.False(optimized.ContainsKey("Conv"));
        Assert.False(optimized.ContainsKey("Relu")); // folded into the uint8 range of conv1's output
        // No If branches: the description (and the model's metadata) is the options' own, unchanged by the branch pass.
        Assert.Equal(new QuantizerOptions().Describe(), result.Description);
        Assert.Equal(result.Description, Assert.Single(result.Model.MetadataProps, p => p.Key == "serverless.quantization").Value);
    }

    [Fact]
    public void Static_WeightsArePerChannelOnTheRightAxis()
    {
        var result = Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions(), TinyModels.Samples(4, 1));
        var g = result.Model.Graph;
        var convDq = g.Node.First(n => n.OpType == "DequantizeLinear" && n.Input[0].StartsWith("conv1_W_bnfold", StringComparison.Ordinal));
        var fcDq = g.Node.First(n => n.OpType == "DequantizeLinear" && n.Input[0] == "wm_q");

        Assert.Equal(0, convDq.Attribute.Single(a => a.Name == "axis").I);
        Assert.Equal(1, fcDq.Attribute.Single(a => a.Name == "axis").I);
        Assert.Equal([4L], g.Initializer.First(t => t.Name == convDq.Input[1]).Dims);
        Assert.Equal([5L], g.Initializer.First(t => t.Name == "wm_s").Dims);
        Assert.Equal(OnnxDataType.Int8, g.Initializer.First(t => t.Name == "wm_q").DataType);
    }

    [Fact]
    public void Static_WithExcludedOpsAndNodes_LeavesThemInFp32()
    {
        var options = new QuantizerOptions { ExcludeOps = new HashSet<string> { "Add" }, ExcludeNodes = new HashSet<string> { "fc" } };
        var result = Quantizer.Quantize(TinyModels.ConvNet(), options, TinyModels.Samples(4, 1));
        var g = result.Model.Graph;

        Assert.Equal(new[] { "Conv" }, result.Summary.QuantizedByOp.Keys);
        Assert.Contains("fc", result.Summary.Excluded);
        Assert.DoesNotContain(g.Node, n => n.OpType == "DequantizeLinear" && n.Input[0] == "wm_q");
        Assert.Contains(g.Initializer, t => t.Name == "wm" && t.DataType == OnnxDataType.Float);
    }

    [Fact]
    public void Dynamic_OnTinyModel_UsesMatMulIntegerFusedByOrtAndStaysClose()
    {
        var model = TinyModels.ConvNet(opset: 11);
        var result = new Quantizer(null).Quantize(model, new QuantizerOptions { Mode = QuantizationMode.Dynamic });
        var path = Save(result.Model);
        var sample = TinyModels.Samples(1, 42)[0];

        var fp32 = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];
        var int8 = TinyModels.Run(File.ReadAllBytes(path), sample)[0];
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);

        Assert.Equal(1, result.Summary.QuantizedByOp["MatMul"]);
        Assert.Contains(result.Model.Graph.Node, n => n.OpType == "MatMulInteger");
        Assert.True(OptimizedGraph.IntegerOpCount(optimized) >= 1, string.Join(",", optimized.Keys));
        Assert.False(optimized.ContainsKey("MatMul"));
        Assert.True(TinyModels.MaxAbsDiff(fp32, int8) < 0.05f * fp32.Max(Math.Abs), $"max diff {TinyModels.MaxAbsDiff(fp32, int8)}");
    }

    [Fact]
    public void Static_WithoutCalibrationSamples_IsRefusedSayingWhatToPass()
    {
        var e = Assert.Throws<InferenceException>(() => Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions(), [], "tiny"));

        Assert.Equal(ErrorCode.InvalidInput, e.Code);
        Assert.Contains("--calibration", e.Message);
    }

    [Fact]
    public void Static_RunTwice_GivesByteIdenticalModels()
    {
        var a = OnnxModelFile.Serialize(Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions { Method = CalibrationMethod.Percentile }, TinyModels.Samples(8, 2)).Model);
        var b = OnnxModelFile.Serialize(Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions { Method = CalibrationMethod.Percentile }, TinyModels.Samples(8, 2)).Model);

        Assert.Equal(a, b);
    }

    [Fact]
    public void Static_OnRealTextDetectionModelWithItsRecipe_TwiceGivesByteIdenticalModels()
    {
        // The pinned int8 artifacts are rebuilt at setup and checked against a SHA-256, so the whole chain
        // (folding, calibration through ORT, histogram percentiles, serialization) must be deterministic.
        var options = new QuantizerOptions
        {
            Method = CalibrationMethod.Percentile,
            FoldConvAffine = true,
            ExcludeOps = new HashSet<string> { "Add", "Mul" },
            ExcludeNodes = new HashSet<string> { "p2o.Conv.0", "p2o.Conv.1", "p2o.Conv.2", "p2o.Conv.3" },
        };
        var source = OnnxModelFile.Load(RepoPaths.ModelFile("text-detection"));
        var samples = Enumerable.Range(0, 2).Select(DetectionPage).ToList();

        var first = Quantizer.Quantize(source, options, samples, "text-detection");
        var a = OnnxModelFile.Serialize(first.Model);
        var b = OnnxModelFile.Serialize(Quantizer.Quantize(source, options, samples, "text-detection").Model);

        Assert.Equal(a, b);
        Assert.Equal(58, first.Summary.QuantizedByOp.GetValueOrDefault("Conv"));
        Assert.Contains("p2o.Conv.0", first.Summary.Excluded);
        Assert.DoesNotContain(first.Model.Graph.Node, n => n.Name == "p2o.Mul.0"); // Conv -> Mul(scale) folded
    }

    private static CalibrationSample DetectionPage(int seed)
    {
        // A 64x64 page: light background with a few dark bars (text-like), ImageNet-normalized.
        var x = new float[3 * 64 * 64];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < 64; y++)
            {
                for (var i = 0; i < 64; i++)
                {
                    var ink = (y % 16) is > 5 and < 11 && ((i + (seed * 5)) % 7) < 4 && i is > 4 and < 58;
                    x[(c * 64 * 64) + (y * 64) + i] = ink ? -1.8f : 2.0f;
                }
            }
        }

        return new CalibrationSample($"page{seed}", [new SampleTensor("x", [1, 3, 64, 64], x)]);
    }

    [Fact]
    public void Static_OnRealTextDirectionModel_FusesEveryConvAndAgreesWithFp32()
    {
        var fp32Path = RepoPaths.ModelFile("text-direction");
        var samples = Enumerable.Range(0, 6).Select(i => OnnxModelFileTestsSample(i)).ToList();
        var result = Quantizer.Quantize(OnnxModelFile.Load(fp32Path), new QuantizerOptions(), samples, "text-direction");
        var path = Save(result.Model);
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);

        Assert.Equal(53, optimized.GetValueOrDefault("QLinearConv"));
        Assert.False(optimized.ContainsKey("Conv"));
        Assert.True(new FileInfo(path).Length < new FileInfo(fp32Path).Length / 2);
        var original = File.ReadAllBytes(fp32Path);
        var quantized = File.ReadAllBytes(path);
        foreach (var sample in samples.Take(3))
        {
            var p = TinyModels.Run(original, sample)[0];
            var q = TinyModels.Run(quantized, sample)[0];
            Assert.True(TinyModels.MaxAbsDiff(p, q) < 0.25f, $"softmax differs by {TinyModels.MaxAbsDiff(p, q)}");
            if (p.Max() > 0.8f)
            {
                Assert.Equal(Array.IndexOf(p, p.Max()), Array.IndexOf(q, q.Max()));
            }
        }
    }

    private static Serverless.Quantization.Calibration.CalibrationSample OnnxModelFileTestsSample(int seed)
    {
        // Text-like input: a white line with dark stripes, normalized to [-1, 1] as PaddleOCR does.
        var x = new float[3 * 48 * 192];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < 48; y++)
            {
                for (var i = 0; i < 192; i++)
                {
                    var ink = y is > 12 and < 36 && ((i + (seed * 7)) % (9 + seed)) < 3;
                    x[(c * 48 * 192) + (y * 192) + i] = ink ? -1f : 1f;
                }
            }
        }

        return new Serverless.Quantization.Calibration.CalibrationSample($"stripes{seed}", [new Serverless.Quantization.Calibration.SampleTensor("x", [1, 3, 48, 192], x)]);
    }

    internal static string Save(Proto.ModelProto model)
    {
        var path = Path.Combine(OnnxModelFileTests.TempDir(), "int8.onnx");
        OnnxModelFile.Save(model, path);
        return path;
    }
}
