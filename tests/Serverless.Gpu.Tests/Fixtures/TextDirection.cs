using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Serverless.Core.Inference;
using Serverless.Core.Onnx;
using Serverless.Core.Tensors;
using Serverless.Tests.Shared;

namespace Serverless.Gpu.Tests.Fixtures;

/// <summary>Inputs for the text-direction model, infer requests with binary tensor data, and the unbatched reference.</summary>
internal static class TextDirection
{
    public const string Model = "text-direction";

    /// <summary>Deterministic pseudo-random pixels in [-1, 1] for a [1,3,48,width] image.</summary>
    public static float[] Image(int seed, int width = 192)
    {
        var random = new Random(seed);
        var values = new float[3 * 48 * width];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return values;
    }

    /// <summary>POSTs one image with its pixels as binary tensor data and returns the status and, on 200, the two probabilities.</summary>
    public static async Task<(int Status, float[] Output, string Body, HttpResponseMessage Response)> InferAsync(HttpClient client, float[] image, int width = 192)
    {
        var bytes = MemoryMarshal.AsBytes(image.AsSpan());
        var header = Encoding.UTF8.GetBytes(
            "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3,48," + width.ToString(CultureInfo.InvariantCulture) +
            "],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":" + bytes.Length.ToString(CultureInfo.InvariantCulture) + "}}]}");
        var body = new byte[header.Length + bytes.Length];
        header.CopyTo(body, 0);
        bytes.CopyTo(body.AsSpan(header.Length));
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        var response = await client.PostAsync($"/v2/models/{Model}/infer", content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return ((int)response.StatusCode, [], text, response);
        }

        using var json = JsonDocument.Parse(text);
        var output = json.RootElement.GetProperty("outputs")[0];
        return (200, [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())], text, response);
    }

    /// <summary>Runs each image alone on a fresh session of the same model: the unbatched reference.</summary>
    public static float[][] Reference(IReadOnlyList<float[]> images, int width = 192)
    {
        using var session = OnnxSessionFactory.Instance.Create(Model, RepoPaths.ModelFile(Model), SessionSettings.Default);
        var outputs = new float[images.Count][];
        for (var i = 0; i < images.Count; i++)
        {
            using var x = new HostTensor();
            x.Initialize("x", TensorElementType.Float, [1, 3, 48, width]);
            images[i].CopyTo(x.GetSpan<float>());
            var results = new IOutputTensor?[1];
            session.Run([x], [0], results);
            using var y = results[0]!;
            outputs[i] = [.. MemoryMarshal.Cast<byte, float>(y.Bytes)];
        }

        return outputs;
    }
}
