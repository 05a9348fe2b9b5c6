using Serverless.Quantization.Onnx;
using Serverless.Quantization.Proto;
using Serverless.Quantization.Quantization;
using Serverless.Quantization.Tests.Onnx;

namespace Serverless.Quantization.Tests.Quantization;

/// <summary>
/// What keeps int8 artifacts the same, and as accurate, on every CPU: 7-bit weights under integer kernels (no VPMADDUBSW
/// saturation on x86-64 without VNNI), calibrated ranges snapped to a coarse grid (last-bit differences of another CPU's
/// float kernels do not reach the bytes), and weight-only storage that needs no calibration at all.
/// </summary>
public class CrossCpuTests
{
    private static readonly Quantizer Quantizer = new(TinyModels.Factory);

    [Fact]
    public void PerChannelInt8_WithTheReducedRange_KeepsEveryWeightWithinSevenBits()
    {
        var weights = Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i * 0.7) * (1 + (i % 5))).ToArray();

        var (values, scales) = QuantMath.PerChannelInt8(weights, [4, 16], 0, QuantMath.ReducedRange);

        Assert.All(values, v => Assert.InRange(v, -63, 63));
        Assert.Contains(values, v => Math.Abs(v) == 63); // each channel's largest weight maps to the edge of the range
        for (var c = 0; c < 4; c++)
        {
            Assert.Equal(weights.Skip(c * 16).Take(16).Max(Math.Abs) / 63f, scales[c], 6);
        }
    }

    [Fact]
    public void PerChannelInt8_WithARangeOutsideOneTo127_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.PerChannelInt8([1f], [1], 0, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantMath.PerChannelInt8([1f], [1], 0, 0));
    }

    [Fact]
    public void Static_IntegerKernelWeights_UseSevenBitsByDefaultAndEightOnlyWhenAskedFor()
    {
        var reduced = Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions(), TinyModels.Samples(4, 1));
        var full = Quantizer.Quantize(TinyModels.ConvNet(), new QuantizerOptions { ReduceRange = false }, TinyModels.Samples(4, 1));

        Assert.Equal(63, LargestInt8Weight(reduced.Model.Graph));
        Assert.Equal(127, LargestInt8Weight(full.Model.Graph));
        Assert.Contains("7-bit", reduced.Description);
    }

    [Fact]
    public void Dynamic_MatMulWeights_UseSevenBits()
    {
        var result = new Quantizer(null).Quantize(TinyModels.ConvNet(opset: 11), new QuantizerOptions { Mode = QuantizationMode.Dynamic });

        Assert.Equal(63, LargestInt8Weight(result.Model.Graph));
    }

    [Fact]
    public void SnapOutward_WidensToTheGridAndNeverClips()
    {
        var range = new TensorRange(-0.3f, 5.01f);

        var snapped = range.SnapOutward();

        // 5.01 lies in [4, 8): the grid step is 4 / 64 = 0.0625.
        Assert.Equal(-0.3125f, snapped.Min);
        Assert.Equal(5.0625f, snapped.Max);
        Assert.Equal(snapped, snapped.SnapOutward());
        Assert.Equal(new TensorRange(0, 0), new TensorRange(0, 0).SnapOutward());
    }

    [Fact]
    public void SnapOutward_OfAnExactBoundAndItsLastBitNeighbours_IsTheSame()
    {
        // Relu6 tops out at exactly 6 on every CPU; a kernel that lands a few ulps above must not add a grid step.
        var exact = new TensorRange(0, 6f).SnapOutward();

        Assert.Equal(6f, exact.Max);
        Assert.Equal(exact, new TensorRange(0, NudgeUlps(6f, 4)).SnapOutward());
        Assert.Equal(exact, new TensorRange(0, NudgeUlps(6f, -4)).SnapOutward());
        Assert.Equal(new TensorRange(-1f, 1f), new TensorRange(NudgeUlps(-1f, 3), NudgeUlps(1f, 3)).SnapOutward());
    }

    [Fact]
    public void SnapOutward_OfRangesPerturbedInTheirLastBits_AlmostNeverChanges()
    {
        var random = new Random(7);
        var changed = 0;
        const int Trials = 2000;
        for (var i = 0; i < Trials; i++)
        {
            var min = -(float)(random.NextDouble() * Math.Pow(10, random.Next(-3, 3)));
            var max = (float)(random.NextDouble() * Math.Pow(10, random.Next(-3, 3)));
            var nudged = new TensorRange(NudgeUlps(min, random.Next(-8, 9)), NudgeUlps(max, random.Next(-8, 9)));
            changed += new TensorRange(min, max).SnapOutward() == nudged.SnapOutward() ? 0 : 1;
        }

        // Without snapping every nudged range would differ; with it only those within 8 ulps of a grid line do.
        Assert.True(changed < Trials / 100, $"{changed} of {Trials} snapped ranges changed");
    }

    [Fact]
    public void Static_WithCalibrationPerturbedInTheLastBits_GivesTheSameBytes()
    {
        var options = new QuantizerOptions { Method = CalibrationMethod.Percentile };
        var reference = OnnxModelFile.Serialize(Quantizer.Quantize(TinyModels.ConvNet(), options, TinyModels.Samples(8, 3)).Model);

        var perturbed = OnnxModelFile.Serialize(Quantizer.Quantize(TinyModels.ConvNet(), options with { CalibrationPerturbation = Math.ScaleB(1, -20) }, TinyModels.Samples(8, 3)).Model);

        Assert.Equal(reference, perturbed);
    }

    [Fact]
    public void Static_WithACoarsePerturbation_ChangesTheBytesButStaysCloseToFp32()
    {
        var model = TinyModels.ConvNet();
        var reference = OnnxModelFile.Serialize(Quantizer.Quantize(model, new QuantizerOptions(), TinyModels.Samples(8, 3)).Model);
        var perturbed = OnnxModelFile.Serialize(Quantizer.Quantize(model, new QuantizerOptions { CalibrationPerturbation = 0.05 }, TinyModels.Samples(8, 3)).Model);
        var sample = TinyModels.Samples(1, 99)[0];

        var fp32 = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];
        var int8 = TinyModels.Run(perturbed, sample)[0];

        Assert.NotEqual(reference, perturbed);
        Assert.True(TinyModels.MaxAbsDiff(fp32, int8) < 0.05f * fp32.Max(Math.Abs), $"max diff {TinyModels.MaxAbsDiff(fp32, int8)}");
    }

    [Fact]
    public void WeightOnly_StoresInt8WeightsThatOrtFoldsBackToFp32Kernels()
    {
        var model = TinyModels.ConvNet();
        var result = new Quantizer(null).Quantize(model, new QuantizerOptions { Mode = QuantizationMode.WeightOnly });
        var path = QuantizerTests.Save(result.Model);
        var sample = TinyModels.Samples(1, 5)[0];

        var fp32 = TinyModels.Run(OnnxModelFile.Serialize(model), sample)[0];
        var restored = TinyModels.Run(File.ReadAllBytes(path), sample)[0];
        var optimized = OptimizedGraph.OpCounts(TinyModels.Factory, path);

        Assert.Equal(3, result.Summary.WeightOnly); // conv1, conv2, fc
        Assert.Equal(127, LargestInt8Weight(result.Model.Graph)); // fp32 arithmetic: no saturation to avoid, so all 8 bits
        Assert.DoesNotContain(result.Model.Graph.Initializer, t => t.DataType == OnnxDataType.Float && TensorProtos.ElementCount(t) > 8); // only biases and per-channel scales stay fp32
        Assert.Equal(0, OptimizedGraph.IntegerOpCount(optimized));
        Assert.False(optimized.ContainsKey("Cast")); // the restore runs once, at session creation
        Assert.True(TinyModels.MaxAbsDiff(fp32, restored) < 0.02f * fp32.Max(Math.Abs), $"max diff {TinyModels.MaxAbsDiff(fp32, restored)}");
        Assert.Contains("weight-only", result.Description);
    }

    [Fact]
    public void WeightOnly_NeedsNoCalibrationAndGivesTheSameBytesEveryTime()
    {
        var a = OnnxModelFile.Serialize(new Quantizer(null).Quantize(TinyModels.ConvNet(), new QuantizerOptions { Mode = QuantizationMode.WeightOnly }).Model);
        var b = OnnxModelFile.Serialize(new Quantizer(null).Quantize(TinyModels.ConvNet(), new QuantizerOptions { Mode = QuantizationMode.WeightOnly }).Model);

        Assert.Equal(a, b);
    }

    private static int LargestInt8Weight(GraphProto graph) =>
        graph.Initializer.Where(t => t.DataType == OnnxDataType.Int8 && t.Dims.Count >= 2)
            .SelectMany(t => t.RawData.ToByteArray()).Max(b => Math.Abs((int)(sbyte)b));

    private static float NudgeUlps(float value, int ulps)
    {
        var bits = BitConverter.SingleToInt32Bits(value);
        return BitConverter.Int32BitsToSingle(bits + (value < 0 ? -ulps : ulps));
    }
}
