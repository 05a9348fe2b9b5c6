using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Serverless.Bench.Driver;

/// <summary>
/// One server, workload and wire format over one keep-alive connection: a timed request is from send to the
/// last response byte, drained into a reused buffer so the client adds as little as possible.
/// </summary>
internal sealed class HttpLane
{
    private readonly HttpClient _client;
    private readonly Uri _uri;
    private readonly byte[] _buffer = new byte[1 << 16];

    public HttpLane(string server, HttpClient client, Payloads payload, bool binary)
    {
        Server = server;
        _client = client;
        Payload = payload;
        Binary = binary;
        _uri = new Uri($"/v2/models/{payload.Model}/infer", UriKind.Relative);
    }

    public string Server { get; }

    public Payloads Payload { get; }

    public bool Binary { get; }

    public string Format => Binary ? "binary" : "JSON";

    public long RequestBytes => Binary ? Payload.Binary.Length : Payload.Json.Length;

    public long ResponseBytes { get; private set; }

    /// <summary>The first output of the first response, after checking it is a real answer of the expected size.</summary>
    public float[] FirstOutput { get; private set; } = [];

    /// <summary>Sends one untimed request and keeps its answer for checks.</summary>
    public async Task ValidateAsync()
    {
        using var response = await SendAsync().ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"{Server} {Payload.Model} {Format} answered {(int)response.StatusCode}: {ColdStartProbe.Truncate(Encoding.UTF8.GetString(body))}");
        }

        var headerLength = response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
            ? int.Parse(values.First(), CultureInfo.InvariantCulture)
            : -1;
        ResponseBytes = body.Length;
        FirstOutput = ParseOutput(body, headerLength);
    }

    /// <summary>One timed request; returns milliseconds.</summary>
    public async Task<double> TimeAsync()
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await SendAsync().ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            while (await stream.ReadAsync(_buffer).ConfigureAwait(false) > 0)
            {
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return response.StatusCode == HttpStatusCode.OK
            ? elapsed
            : throw new InvalidOperationException($"{Server} {Payload.Model} {Format} answered {(int)response.StatusCode} during timing.");
    }

    private async Task<HttpResponseMessage> SendAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = new ByteArrayContent(Binary ? Payload.Binary : Payload.Json) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Binary ? "application/octet-stream" : "application/json");
        if (Binary)
        {
            request.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", Payload.BinaryHeaderLength.ToString(CultureInfo.InvariantCulture));
        }

        return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
    }

    private float[] ParseOutput(byte[] body, int headerLength)
    {
        var json = Binary ? body.AsSpan(0, headerLength < 0 ? body.Length : headerLength).ToArray() : body;
        using var document = JsonDocument.Parse(json);
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
