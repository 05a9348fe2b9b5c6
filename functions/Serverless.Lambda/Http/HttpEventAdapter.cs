using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Core.Protocol;
using Serverless.Lambda.Events;
using Serverless.Lambda.Runtime;

namespace Serverless.Lambda.Http;

/// <summary>
/// Turns API Gateway (payload 1.0 and 2.0) and Function URL events into <see cref="ProtocolRequest"/>s and
/// the handler's answer back into the matching response document. Binary bodies travel base64-encoded in
/// both directions, which is how the binary tensor data extension works through API Gateway. A response
/// whose encoded document would exceed Lambda's 6 MB cap becomes a 413 that points to smaller alternatives,
/// never a runtime failure. One instance serves one invocation at a time (the loop is sequential).
/// </summary>
public sealed class HttpEventAdapter : IDisposable
{
    /// <summary>Room left for the response document's envelope (status, headers, JSON quoting) under the cap.</summary>
    private const int EnvelopeAllowance = 8 * 1024;

    private readonly Func<ProtocolRequest, IProtocolResponse, CancellationToken, Task> _handle;
    private readonly int _maxDocumentBytes;
    private readonly BufferedProtocolResponse _response = new();

    /// <param name="handle">The protocol handler's entry point (ProtocolHandler.HandleAsync).</param>
    /// <param name="maxDocumentBytes">Cap on the whole response document; Lambda's is 6 MB.</param>
    public HttpEventAdapter(Func<ProtocolRequest, IProtocolResponse, CancellationToken, Task> handle, int maxDocumentBytes = LambdaRuntimeLoop.MaxResponseBytes)
    {
        _handle = handle ?? throw new ArgumentNullException(nameof(handle));
        _maxDocumentBytes = maxDocumentBytes;
    }

    /// <summary>Status of the last response written, for the invocation log.</summary>
    public int LastStatusCode { get; private set; }

    /// <summary>Handles one HTTP-shaped event of <paramref name="kind"/> and writes the response document to <paramref name="output"/>.</summary>
    public async Task HandleAsync(EventKind kind, ReadOnlyMemory<byte> payload, IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var v1 = kind == EventKind.RestApiV1;
        var request = v1 ? FromRestApiV1(payload.Span) : FromHttpApiV2(payload.Span);
        _response.Clear();
        if (request.Error is { } error)
        {
            WriteError(_response, 400, error);
        }
        else
        {
            await _handle(request.Request!, _response, cancellationToken).ConfigureAwait(false);
        }

        WriteDocument(v1, output);
    }

    public void Dispose() => _response.Dispose();

    private void WriteDocument(bool v1, IBufferWriter<byte> output)
    {
        var binary = !IsTextual(_response.ContentType);
        var bodyLength = _response.BodyLength;
        var encodedLength = binary ? (bodyLength + 2) / 3 * 4 : bodyLength;
        if (encodedLength > _maxDocumentBytes - EnvelopeAllowance)
        {
            var message = $"The response is {bodyLength} bytes" + (binary ? $" ({encodedLength} bytes once base64-encoded for API Gateway)" : string.Empty) +
                $", over Lambda's {_maxDocumentBytes / (1024 * 1024)} MB response limit. Send fewer inputs per request, ask for binary outputs " +
                "(binary tensor data extension: \"parameters\": {\"binary_data_output\": true}, about 4x smaller than JSON numbers), " +
                "or score large inputs offline with batch scoring (upload JSON Lines to the bucket's incoming/ prefix).";
            _response.Clear();
            WriteError(_response, 413, message);
            binary = false;
        }

        var body = _response.BodyMemory.Span;
        var bodyText = binary ? Convert.ToBase64String(body) : Encoding.UTF8.GetString(body);
        LastStatusCode = _response.StatusCode;
        using var writer = new Utf8JsonWriter(output);
        if (v1)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var multi = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            CollectHeaders(headers, multi, cookies: null);
            JsonSerializer.Serialize(writer, new RestApiV1Response
            {
                StatusCode = _response.StatusCode,
                Headers = headers,
                MultiValueHeaders = multi,
                Body = bodyText,
                IsBase64Encoded = binary,
            }, LambdaJsonContext.Default.RestApiV1Response);
        }
        else
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var cookies = new List<string>();
            CollectHeaders(headers, multi: null, cookies);
            JsonSerializer.Serialize(writer, new HttpApiV2Response
            {
                StatusCode = _response.StatusCode,
                Headers = headers,
                Cookies = cookies.Count > 0 ? cookies : null,
                Body = bodyText,
                IsBase64Encoded = binary,
            }, LambdaJsonContext.Default.HttpApiV2Response);
        }
    }

    /// <summary>
    /// Payload 1.0 puts repeated headers (Set-Cookie above all) in multiValueHeaders; 2.0 puts cookies in
    /// their own array and joins other repeated headers with commas.
    /// </summary>
    private void CollectHeaders(Dictionary<string, string> headers, Dictionary<string, List<string>>? multi, List<string>? cookies)
    {
        Add("Content-Type", _response.ContentType);
        foreach (var (name, value) in _response.Headers)
        {
            Add(name, value);
        }

        void Add(string name, string value)
        {
            if (cookies is not null && name.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase))
            {
                cookies.Add(value);
                return;
            }

            if (multi is not null)
            {
                if (!multi.TryGetValue(name, out var list))
                {
                    multi[name] = list = [];
                }

                list.Add(value);
            }

            headers[name] = headers.TryGetValue(name, out var existing) ? existing + "," + value : value;
        }
    }

    private static bool IsTextual(string contentType) =>
        contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ||
        contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    private static void WriteError(BufferedProtocolResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = ProtocolContentTypes.Json;
        ErrorBody.Write(response.Body, message);
    }

    private static ParsedRequest FromHttpApiV2(ReadOnlySpan<byte> payload)
    {
        var e = JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.HttpApiV2Event)
            ?? throw new JsonException("The HTTP API event is null.");
        var method = e.RequestContext?.Http?.Method ?? "GET";
        var path = StripStage(e.RawPath ?? e.RequestContext?.Http?.Path ?? "/", e.RequestContext?.Stage);
        var headers = new HeaderLookup(e.Headers, null);
        return Build(method, path, e.RawQueryString, headers, e.Body, e.IsBase64Encoded);
    }

    private static ParsedRequest FromRestApiV1(ReadOnlySpan<byte> payload)
    {
        var e = JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.RestApiV1Event)
            ?? throw new JsonException("The REST API event is null.");
        var method = e.HttpMethod ?? e.RequestContext?.HttpMethod ?? "GET";
        var path = StripStage(e.Path ?? "/", e.RequestContext?.Stage);
        var headers = new HeaderLookup(e.Headers, e.MultiValueHeaders);
        return Build(method, path, QueryText(e), headers, e.Body, e.IsBase64Encoded);
    }

    private static ParsedRequest Build(string method, string path, string? query, HeaderLookup headers, string? body, bool isBase64)
    {
        byte[] bytes;
        if (string.IsNullOrEmpty(body))
        {
            bytes = [];
        }
        else if (isBase64)
        {
            bytes = new byte[body.Length / 4 * 3 + 3];
            if (!Convert.TryFromBase64String(body, bytes, out var written))
            {
                return new ParsedRequest(null, "The request body is marked isBase64Encoded but is not valid base64. Send the raw bytes and let API Gateway encode them (binary media types), or send a JSON body.");
            }

            Array.Resize(ref bytes, written);
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(body);
        }

        var request = ProtocolRequest.FromBytes(method, path, bytes, headers.Get("content-type"), headers.Get(ProtocolContentTypes.InferenceHeaderContentLength));
        return new ParsedRequest(new ProtocolRequest(request.Method, request.Path, request.Body)
        {
            Query = query,
            ContentType = request.ContentType,
            ContentLength = request.ContentLength,
            InferenceHeaderContentLength = request.InferenceHeaderContentLength,
        }, null);
    }

    /// <summary>
    /// Removes the stage from <c>/prod/v2/...</c>: HTTP API puts a named stage in rawPath. Only a prefix that
    /// leaves a protocol route (<c>/v2...</c>) is removed, so a stage named like a route segment stays safe.
    /// </summary>
    internal static string StripStage(string path, string? stage)
    {
        if (string.IsNullOrEmpty(stage) || stage == "$default" || path.Length <= stage.Length + 1 || path[0] != '/')
        {
            return path;
        }

        if (path.AsSpan(1).StartsWith(stage, StringComparison.Ordinal) && path[stage.Length + 1] == '/')
        {
            var rest = path[(stage.Length + 1)..];
            if (rest == "/v2" || rest.StartsWith("/v2/", StringComparison.Ordinal))
            {
                return rest;
            }
        }

        return path;
    }

    private static string? QueryText(RestApiV1Event e)
    {
        var source = e.MultiValueQueryStringParameters;
        if (source is null || source.Count == 0)
        {
            return e.QueryStringParameters is { Count: > 0 } single
                ? string.Join('&', single.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)))
                : null;
        }

        return string.Join('&', source.SelectMany(p => p.Value.Select(v => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(v))));
    }

    private readonly record struct ParsedRequest(ProtocolRequest? Request, string? Error);

    /// <summary>Case-insensitive header lookup over a 2.0 map or a 1.0 pair of maps (multi-value preferred, joined with commas).</summary>
    private readonly struct HeaderLookup(Dictionary<string, string>? single, Dictionary<string, List<string>>? multi)
    {
        public string? Get(string name)
        {
            if (multi is not null)
            {
                foreach (var (key, values) in multi)
                {
                    if (key.Equals(name, StringComparison.OrdinalIgnoreCase) && values.Count > 0)
                    {
                        return string.Join(',', values);
                    }
                }
            }

            if (single is not null)
            {
                foreach (var (key, value) in single)
                {
                    if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                    {
                        return value;
                    }
                }
            }

            return null;
        }
    }
}
