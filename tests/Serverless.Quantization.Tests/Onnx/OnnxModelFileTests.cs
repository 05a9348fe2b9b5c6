using Google.Protobuf;
using Serverless.Core.Errors;
using Serverless.Quantization.Calibration;
using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;
using Serverless.Tests.Shared;

namespace Serverless.Quantization.Tests.Onnx;

public class OnnxModelFileTests
{
    public static TheoryData<string> RealModels => new() { "text-direction", "text-detection", "text-recognition", "voice-activity" };

    internal static CalibrationSample SampleFor(string model)
    {
        var rng = new Random(3);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        return model switch
        {
            "text-direction" => new("s", [new SampleTensor("x", [1, 3, 48, 192], R(3 * 48 * 192))]),
            "text-detection" => new("s", [new SampleTensor("x", [1, 3, 64, 96], R(3 * 64 * 96))]),
            "text-recognition" => new("s", [new SampleTensor("x", [1, 3, 48, 160], R(3 * 48 * 160))]),
            _ => new("s", SampleSets.VadInputs(R(512), new float[256])),
        };
    }

    [Theory]
    [MemberData(nameof(RealModels))]
    public void RoundTrip_OfRealModel_GivesIdenticalOutputsThroughOrt(string name)
    {
        var path = RepoPaths.ModelFile(name);
        var original = File.ReadAllBytes(path);
        var rewritten = OnnxModelFile.Serialize(OnnxModelFile.Load(path));
        var sample = SampleFor(name);

        var expected = TinyModels.Run(original, sample);
        var actual = TinyModels.Run(rewritten, sample);

        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }

        // Nothing lost on the way: same graph size, same bytes after a second round trip.
        Assert.Equal(OnnxModelFile.Serialize(OnnxModelFile.Parse(rewritten)), rewritten);
    }

    [Fact]
    public void Load_WithExternalDataNextToTheModel_InlinesTheTensorAndRunsLikeTheOriginal()
    {
        var dir = TempDir();
        var model = TinyModels.ConvNet();
        var sample = TinyModels.Samples(1, 5)[0];
        var expected = TinyModels.Run(OnnxModelFile.Serialize(model), sample);
        var w = model.Graph.Initializer.First(t => t.Name == "wm");
        File.WriteAllBytes(Path.Combine(dir, "weights.bin"), [.. new byte[16], .. w.RawData.ToByteArray()]);
        MakeExternal(w, "weights.bin", offset: 16);
        var path = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var loaded = OnnxModelFile.Load(path);

        var inlined = loaded.Graph.Initializer.First(t => t.Name == "wm");
        Assert.False(inlined.HasDataLocation);
        Assert.Empty(inlined.ExternalData);
        Assert.Equal(256 * 5 * 4, inlined.RawData.Length);
        Assert.Equal(expected[0], TinyModels.Run(OnnxModelFile.Serialize(loaded), sample)[0]);
    }

    [Theory]
    [InlineData("../outside.bin", "outside the model folder")]
    [InlineData("/etc/passwd", "outside the model folder")]
    [InlineData("missing.bin", "is missing")]
    public void Load_WithBadExternalDataLocation_IsRejectedNamingTheTensor(string location, string expected)
    {
        var dir = TempDir();
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(dir)!, "outside.bin"), new byte[5120]);
        var model = TinyModels.ConvNet();
        MakeExternal(model.Graph.Initializer.First(t => t.Name == "wm"), location, 0);
        var path = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var e = Assert.Throws<InferenceException>(() => OnnxModelFile.Load(path));

        Assert.Equal(ErrorCode.InvalidInput, e.Code);
        Assert.Contains("'wm'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Load_WithExternalDataRangePastTheFileEnd_IsRejectedWithTheSizes()
    {
        var dir = TempDir();
        File.WriteAllBytes(Path.Combine(dir, "w.bin"), new byte[100]);
        var model = TinyModels.ConvNet();
        var w = model.Graph.Initializer.First(t => t.Name == "wm");
        MakeExternal(w, "w.bin", 0);
        w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "5120" });
        var path = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var e = Assert.Throws<InferenceException>(() => OnnxModelFile.Load(path));

        Assert.Contains("which has 100 bytes", e.Message);
    }

    [Fact]
    public void Parse_OfBytesWithExternalData_IsRejectedBecauseThereIsNoFolder()
    {
        var model = TinyModels.ConvNet();
        MakeExternal(model.Graph.Initializer.First(t => t.Name == "wm"), "w.bin", 0);

        var e = Assert.Throws<InferenceException>(() => OnnxModelFile.Parse(model.ToByteArray()));

        Assert.Contains("load the model from its file path", e.Message);
    }

    [Fact]
    public void Load_OfAFileThatIsNotAModel_IsBadInput()
    {
        var path = Path.Combine(TempDir(), "model.onnx");
        File.WriteAllText(path, "this is not protobuf at all \u0001\u0002");

        var e = Assert.Throws<InferenceException>(() => OnnxModelFile.Load(path));

        Assert.Equal(ErrorCode.InvalidInput, e.Code);
    }

    [Fact]
    public void Load_OfAMissingFile_IsNotFound()
    {
        var e = Assert.Throws<InferenceException>(() => OnnxModelFile.Load("/nonexistent/model.onnx"));

        Assert.Equal(ErrorCode.NotFound, e.Code);
    }

    internal static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "quant-tests", Guid.NewGuid().ToString("N"), "model");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void MakeExternal(TensorProto tensor, string location, long offset)
    {
        tensor.ClearRawData();
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }
}
