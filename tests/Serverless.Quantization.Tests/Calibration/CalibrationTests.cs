using Serverless.Quantization.Calibration;
using Serverless.Quantization.Graph;
using Serverless.Quantization.Quantization;

namespace Serverless.Quantization.Tests.Calibration;

public class CalibrationTests
{
    [Fact]
    public void Collect_OnTinyModel_RecordsRangesAndRanksOfIntermediateTensors()
    {
        var model = TinyModels.ConvNet();
        GraphEdits.ConstantsToInitializers(model.Graph);
        var tensors = Quantizer.CalibrationTensors(model.Graph);
        var lines = new List<string>();

        var stats = new Calibrator(TinyModels.Factory, lines.Add) { ProgressEvery = 2 }.Collect(model, tensors, TinyModels.Samples(4, 1), CalibrationMethod.MinMax);

        Assert.Contains("r1", tensors);
        Assert.Equal(0f, stats["r1"].Min); // a Relu output never goes below zero
        Assert.True(stats["r1"].Max > 0);
        Assert.Equal(4, stats["r1"].Rank);
        Assert.InRange(stats["x"].Min, 0f, 0.05f);
        Assert.InRange(stats["x"].Max, 0.95f, 1f);
        Assert.Equal(["calibration range pass: 2/4 samples", "calibration range pass: 4/4 samples"], lines);
    }

    [Fact]
    public void Percentile_CutsOutliersThatMinMaxKeeps()
    {
        var s = new TensorStatistics("t");
        var values = Enumerable.Range(0, 100_000).Select(i => (i % 1000) / 1000f).Append(50f).ToArray();
        s.AddRange(values);
        s.AddHistogram(values, 2048);

        Assert.Equal(new TensorRange(0, 50), s.MinMax());
        Assert.InRange(s.Percentile(99.9).Max, 0.99f, 1.1f);
        Assert.InRange(s.Entropy().Max, 0.5f, 5f);
    }

    [Fact]
    public void ActivationParams_AlwaysRepresentZeroExactly()
    {
        var p = QuantMath.Activation(new TensorRange(0.5f, 2.5f), ActivationType.UInt8);

        Assert.Equal(0, p.ZeroPoint); // range widened to include 0
        Assert.Equal(2.5f / 255f, p.Scale, 6);
        var q = QuantMath.Activation(new TensorRange(-1f, 3f), ActivationType.UInt8);
        Assert.Equal(64, q.ZeroPoint);
    }

    [Fact]
    public void PerChannelInt8_UsesOneScalePerChannelOfTheAxis()
    {
        // dims [2, 3]: axis 0 has channels {1,2,3} and {10,20,30}; axis 1 has {1,10}, {2,20}, {3,30}.
        float[] w = [1, 2, 3, 10, 20, 30];

        var (q0, s0) = QuantMath.PerChannelInt8(w, [2, 3], 0);
        var (q1, s1) = QuantMath.PerChannelInt8(w, [2, 3], 1);

        Assert.Equal([3f / 127, 30f / 127], s0);
        Assert.Equal([(sbyte)42, 85, 127, 42, 85, 127], q0);
        Assert.Equal([10f / 127, 20f / 127, 30f / 127], s1);
        Assert.Equal([(sbyte)13, 13, 13, 127, 127, 127], q1);
    }
}
