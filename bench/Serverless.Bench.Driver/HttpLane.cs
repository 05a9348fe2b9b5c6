using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Serverless.Bench.Driver;

/// <summary>
/// One server, workload and wire format over that server's keep-alive connection (see <see cref="IKeepAliveClient"/>):
/// the request is prepared once, a timed request is from the send to the last response byte.
/// </summary>
internal sealed class HttpLane
{
    private readonly IPreparedRequest _request;

    public HttpLane(string server, IKeepAliveClient client, Payloads payload, bool binary)
    {
        Server = server;
        Payload = payload;
        Binary = binary;
        _request = client.Prepare(
            "POST",
            payload.InferPath,
            binary ? "application/octet-stream" : "application/json",
            binary ? payload.Binary : payload.Json,
            binary ? [new("Inference-Header-Content-Length", payload.BinaryHeaderLength.ToString(CultureInfo.InvariantCulture))] : []);
    }

    public string Server { get; }

    public Payloads Payload { get; }

    public bool Binary { get; }

    public string Format => Binary ? "binary" : "JSON";

    public long RequestBytes => Binary ? Payload.Binary.Length : Payload.Json.Length;

    public long ResponseBytes { get; private set; }

    /// <summary>How the server framed the validated response: "Content-Length" or "chunked".</summary>
    public string Framing { get; private set; } = "";

    /// <summary>The first output of the first response, after checking it is a real answer of the expected size.</summary>
    public float[] FirstOutput { get; private set; } = [];

    /// <summary>Sends one untimed request and keeps its answer for checks.</summary>
    public async Task ValidateAsync()
    {
        var response = await _request.ExchangeAsync().ConfigureAwait(false);
        if (response.Status != 200)
        {
            throw new InvalidOperationException($"{Server} {Payload.Model} {Format} answered {response.Status}: {ColdStartProbe.Truncate(Encoding.UTF8.GetString(response.Body))}");
        }

        var headerLength = response.Headers.TryGetValue("Inference-Header-Content-Length", out var value)
            ? int.Parse(value, CultureInfo.InvariantCulture)
            : -1;
        ResponseBytes = response.Body.Length;
        Framing = FloorLane.FramingOf(response);
        FirstOutput = ParseOutput(response.Body, headerLength);
    }

    /// <summary>One timed request; returns milliseconds.</summary>
    public Task<double> TimeAsync() => _request.TimeAsync();

    private float[] ParseOutput(byte[] body, int headerLength)
    {
        var json = Binary ? body.AsSpan(0, headerLength < 0 ? body.Length : headerLength).ToArray() : body;
        using var document = JsonDocument.Parse(json);
        var version = document.RootElement.TryGetProperty("model_version", out var v) ? v.GetString() : null;
        if (version != Payload.Version)
        {
            throw new InvalidOperationException($"{Server}: {Payload.Model} answered from model version '{version}'; the bench pins version {Payload.Version} for every lane.");
        }

        var output = document.RootElement.GetProperty("outputs")[0];
        var count = 1L;
        foreach (var d in output.GetProperty("shape").EnumerateArray())
        {
            count *= d.GetInt64();
        }

        float[] values;
        if (Binary)
        {
            if (headerLength < 0 || body.Length - headerLength != count * 4)
            {
                throw new InvalidOperationException($"{Server}: the binary response for {Payload.Model} has {body.Length - headerLength} data bytes after a {headerLength}-byte header; expected {count * 4}.");
            }

            values = new float[count];
            Buffer.BlockCopy(body, headerLength, values, 0, (int)(count * 4));
        }
        else
        {
            values = output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        }

        return values.Length == count && count > 0
            ? values
            : throw new InvalidOperationException($"{Server}: {Payload.Model} returned {values.Length} elements for a shape of {count}.");
    }
}

/// <summary>
/// The HTTP floor of one server: a trivial GET (a readiness route) over the same keep-alive connection as its
/// infer lanes, so its p50 is the fixed per-request cost of the HTTP stack and the loopback round trip with no
/// model, codec or body behind it.
/// </summary>
internal sealed class FloorLane
{
    private readonly IPreparedRequest _request;

    public FloorLane(string server, IKeepAliveClient client, string path)
    {
        Server = server;
        Path = path;
        _request = client.Prepare("GET", path, null, null, []);
    }

    public string Server { get; }

    public string Path { get; }

    public long ResponseBytes { get; private set; }

    public string Framing { get; private set; } = "";

    public async Task ValidateAsync()
    {
        var response = await _request.ExchangeAsync().ConfigureAwait(false);
        if (response.Status != 200)
        {
            throw new InvalidOperationException($"{Server} GET {Path} answered {response.Status}: {ColdStartProbe.Truncate(Encoding.UTF8.GetString(response.Body))}");
        }

        ResponseBytes = response.Body.Length;
        Framing = FramingOf(response);
    }

    public Task<double> TimeAsync() => _request.TimeAsync();

    internal static string FramingOf(RawHttpResponse response) =>
        response.Headers.TryGetValue("Transfer-Encoding", out var encoding) ? encoding : "Content-Length";
}
