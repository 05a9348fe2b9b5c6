using System.Text.Json;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// Compares the outputs of two FP32 protocol responses element by element. Names, datatypes and shapes
/// must match exactly; the result is the largest absolute difference per output.
/// </summary>
internal static class OutputComparison
{
    public static IReadOnlyDictionary<string, double> MaxAbsDiffByOutput(string actualJson, string expectedJson)
    {
        using var actual = JsonDocument.Parse(actualJson);
        using var expected = JsonDocument.Parse(expectedJson);
        var actualOutputs = ByName(actual.RootElement);
        var expectedOutputs = ByName(expected.RootElement);
        Assert.Equal(expectedOutputs.Keys.Order(), actualOutputs.Keys.Order());

        var result = new Dictionary<string, double>();
        foreach (var (name, want) in expectedOutputs)
        {
            var got = actualOutputs[name];
            Assert.Equal(want.GetProperty("datatype").GetString(), got.GetProperty("datatype").GetString());
            Assert.Equal(Shape(want), Shape(got));
            var wantData = Flatten(want.GetProperty("data"));
            var gotData = Flatten(got.GetProperty("data"));
            Assert.Equal(wantData.Count, gotData.Count);
            Assert.True(wantData.Count > 0, $"output '{name}' is empty");
            var max = 0.0;
            for (var i = 0; i < wantData.Count; i++)
            {
                Assert.False(double.IsNaN(gotData[i]), $"output '{name}'[{i}] is NaN");
                max = Math.Max(max, Math.Abs(gotData[i] - wantData[i]));
            }

            result[name] = max;
        }

        return result;
    }

    public static long[] Shape(JsonElement output) =>
        output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();

    private static Dictionary<string, JsonElement> ByName(JsonElement response) =>
        response.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!, o => o.Clone());

    private static List<double> Flatten(JsonElement data)
    {
        var values = new List<double>();
        Walk(data, values);
        return values;

        static void Walk(JsonElement element, List<double> into)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, into);
                }
            }
            else
            {
                // Both sides hold FP32 values but print them differently (the server in shortest float form,
                // Node as the exact double), so compare after rounding each back to the float it stands for.
                into.Add((float)element.GetDouble());
            }
        }
    }
}
