using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Serverless.Lambda.Emulator;

/// <summary>
/// The HTTP side of local emulation: every request to this Kestrel listener becomes an API Gateway HTTP API
/// event (payload 2.0, stage <c>$default</c>, body base64-encoded unless it is text) handed to the
/// <see cref="RuntimeApiEmulator"/>, and the function's 2.0 response document becomes the HTTP response.
/// A function error becomes a 502, as API Gateway answers.
/// </summary>
public sealed class LambdaFrontDoor : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RuntimeApiEmulator _runtime;
    private readonly TimeSpan _timeout;

    private LambdaFrontDoor(WebApplication app, RuntimeApiEmulator runtime, TimeSpan timeout)
    {
        _app = app;
        _runtime = runtime;
        _timeout = timeout;
    }

    /// <summary>Base URL, e.g. http://127.0.0.1:8080.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Starts on 127.0.0.1:<paramref name="port"/> (0 picks a free port); <paramref name="timeout"/> is the function timeout.</summary>
    public static async Task<LambdaFrontDoor> StartAsync(RuntimeApiEmulator runtime, int port = 0, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 10L * 1024 * 1024; // API Gateway's payload cap
        });
        var app = builder.Build();
        var door = new LambdaFrontDoor(app, runtime, timeout ?? TimeSpan.FromSeconds(30));
        app.Run(door.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        door.Url = new Uri(app.Urls.First());
        return door;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Builds the payload 2.0 event API Gateway would send for this request.</summary>
    public static byte[] BuildEvent(string method, string path, string query, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var text = contentType is not null && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase));
        var now = DateTimeOffset.UtcNow;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", "2.0");
            w.WriteString("routeKey", "$default");
            w.WriteString("rawPath", path);
            w.WriteString("rawQueryString", query);
            var cookies = new List<string>();
            w.WriteStartObject("headers");
            foreach (var group in headers.GroupBy(h => h.Key.ToLowerInvariant()))
            {
                if (group.Key == "cookie")
                {
                    cookies.AddRange(group.SelectMany(c => c.Value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
                    continue;
                }

                w.WriteString(group.Key, string.Join(',', group.Select(h => h.Value)));
            }

            w.WriteEndObject();
            if (cookies.Count > 0)
            {
                w.WriteStartArray("cookies");
                cookies.ForEach(w.WriteStringValue);
                w.WriteEndArray();
            }

            w.WriteStartObject("requestContext");
            w.WriteString("accountId", "000000000000");
            w.WriteString("apiId", "local");
            w.WriteString("domainName", "localhost");
            w.WriteString("domainPrefix", "localhost");
            w.WriteStartObject("http");
            w.WriteString("method", method);
            w.WriteString("path", path);
            w.WriteString("protocol", "HTTP/1.1");
            w.WriteString("sourceIp", "127.0.0.1");
            w.WriteString("userAgent", "local");
            w.WriteEndObject();
            w.WriteString("requestId", Guid.NewGuid().ToString("N"));
            w.WriteString("routeKey", "$default");
            w.WriteString("stage", "$default");
            w.WriteString("time", now.ToString("dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture));
            w.WriteNumber("timeEpoch", now.ToUnixTimeMilliseconds());
            w.WriteEndObject();
            if (body.Length > 0)
            {
                w.WriteString("body", text ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body));
            }

            w.WriteBoolean("isBase64Encoded", body.Length > 0 && !text);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        var headers = context.Request.Headers.SelectMany(h => h.Value.Select(v => new KeyValuePair<string, string>(h.Key, v ?? string.Empty)));
        var query = context.Request.QueryString.HasValue ? context.Request.QueryString.Value![1..] : string.Empty;
        var payload = BuildEvent(context.Request.Method, context.Request.Path.Value ?? "/", query, headers, body.GetBuffer().AsSpan(0, (int)body.Length), context.Request.ContentType);
        var result = await _runtime.InvokeAsync(payload, _timeout, "Root=1-00000000-000000000000000000000000;Sampled=0", context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"message\":\"Internal Server Error\"}").ConfigureAwait(false);
            return;
        }

        await WriteResponseAsync(context, result.Body).ConfigureAwait(false);
    }

    private static async Task WriteResponseAsync(HttpContext context, byte[] document)
    {
        using var json = JsonDocument.Parse(document);
        var root = json.RootElement;
        // Payload 2.0 also accepts a bare value, which API Gateway returns as a 200 JSON body.
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("statusCode", out var status))
        {
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(document).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = status.GetInt32();
        if (root.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in headers.EnumerateObject())
            {
                context.Response.Headers[header.Name] = header.Value.GetString();
            }
        }

        if (root.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array)
        {
            foreach (var cookie in cookies.EnumerateArray())
            {
                context.Response.Headers.Append("Set-Cookie", cookie.GetString());
            }
        }

        var bodyText = root.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : string.Empty;
        var isBase64 = root.TryGetProperty("isBase64Encoded", out var flag) && flag.ValueKind == JsonValueKind.True;
        var bytes = isBase64 ? Convert.FromBase64String(bodyText) : Encoding.UTF8.GetBytes(bodyText);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes).ConfigureAwait(false);
    }
}
