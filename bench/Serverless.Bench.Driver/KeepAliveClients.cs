using System.Diagnostics;
using System.Net.Http.Headers;

namespace Serverless.Bench.Driver;

/// <summary>Which HTTP client times the warm requests (<c>--client</c>): the same one for both servers, so ratios stay fair.</summary>
internal enum ClientKind
{
    /// <summary><see cref="RawHttpConnection"/>: prebuilt request bytes, one send, read to the end of the framing.</summary>
    Raw,

    /// <summary><see cref="HttpClient"/> over one pooled keep-alive connection (what the driver used before the raw client).</summary>
    HttpClient,
}

/// <summary>One request for one server, prepared once and then sent many times over that server's keep-alive connection.</summary>
internal interface IPreparedRequest
{
    /// <summary>One timed request, from before the send to the last response byte; milliseconds. Throws unless the answer is 200.</summary>
    Task<double> TimeAsync();

    /// <summary>One untimed request whose status, headers and body are kept for checks.</summary>
    Task<RawHttpResponse> ExchangeAsync();
}

/// <summary>One keep-alive connection to one server, through the client chosen with <c>--client</c>.</summary>
internal interface IKeepAliveClient : IDisposable
{
    IPreparedRequest Prepare(string method, string path, string? contentType, byte[]? body, IReadOnlyList<KeyValuePair<string, string>> headers);
}

internal static class KeepAliveClients
{
    /// <summary>A keep-alive connection to 127.0.0.1:<paramref name="port"/>.</summary>
    public static IKeepAliveClient Connect(ClientKind kind, int port) => kind switch
    {
        ClientKind.Raw => new RawClient(RawHttpConnection.Connect(port, TimeSpan.FromMinutes(5)), port),
        _ => new HttpClientAdapter(port),
    };

    /// <summary>What the results file says about the client that timed the warm requests.</summary>
    public static string Describe(ClientKind kind) => kind switch
    {
        ClientKind.Raw => "raw socket client (the driver's RawHttpConnection): one HTTP/1.1 keep-alive connection per server, TCP_NODELAY, " +
            "each request's bytes (head and body) built once before timing, a timed request is one blocking socket send of those bytes " +
            "and blocking reads into a reused 64 KB buffer until the end of the Content-Length or chunked body",
        _ => "HttpClient (SocketsHttpHandler, one pooled keep-alive connection per server, ResponseHeadersRead, body drained into a reused 64 KB buffer)",
    };

    private static string Fail(string method, string path, int status) => $"{method} {path} answered {status} during timing.";

    private sealed class RawClient(RawHttpConnection connection, int port) : IKeepAliveClient
    {
        public IPreparedRequest Prepare(string method, string path, string? contentType, byte[]? body, IReadOnlyList<KeyValuePair<string, string>> headers) =>
            new Prepared(connection, method, path, RawHttpConnection.BuildRequest(method, path, port, contentType, body, headers));

        public void Dispose() => connection.Dispose();

        private sealed class Prepared(RawHttpConnection connection, string method, string path, byte[] bytes) : IPreparedRequest
        {
            public Task<double> TimeAsync()
            {
                var (status, milliseconds) = connection.Time(bytes);
                return status == 200 ? Task.FromResult(milliseconds) : throw new InvalidOperationException(Fail(method, path, status));
            }

            public Task<RawHttpResponse> ExchangeAsync() => Task.FromResult(connection.Exchange(bytes));
        }
    }

    private sealed class HttpClientAdapter : IKeepAliveClient
    {
        private readonly HttpClient _client;
        private readonly byte[] _drain = new byte[1 << 16];

        public HttpClientAdapter(int port)
        {
            _client = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
                MaxConnectionsPerServer = 1,
                UseProxy = false,
            })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = TimeSpan.FromMinutes(5),
            };
        }

        public IPreparedRequest Prepare(string method, string path, string? contentType, byte[]? body, IReadOnlyList<KeyValuePair<string, string>> headers) =>
            new Prepared(this, method, path, contentType, body, headers);

        public void Dispose() => _client.Dispose();

        private sealed class Prepared(HttpClientAdapter owner, string method, string path, string? contentType, byte[]? body, IReadOnlyList<KeyValuePair<string, string>> headers) : IPreparedRequest
        {
            private readonly Uri _uri = new(path, UriKind.Relative);
            private readonly HttpMethod _method = HttpMethod.Parse(method);

            public async Task<double> TimeAsync()
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await SendAsync().ConfigureAwait(false);
                var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    while (await stream.ReadAsync(owner._drain).ConfigureAwait(false) > 0)
                    {
                    }
                }

                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                return (int)response.StatusCode == 200 ? elapsed : throw new InvalidOperationException(Fail(method, path, (int)response.StatusCode));
            }

            public async Task<RawHttpResponse> ExchangeAsync()
            {
                using var response = await SendAsync().ConfigureAwait(false);
                var content = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                {
                    headers[name] = string.Join(", ", values);
                }

                return new RawHttpResponse((int)response.StatusCode, headers, content);
            }

            private async Task<HttpResponseMessage> SendAsync()
            {
                using var request = new HttpRequestMessage(_method, _uri);
                if (body is not null)
                {
                    request.Content = new ByteArrayContent(body);
                    if (contentType is not null)
                    {
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
                    }
                }

                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                return await owner._client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            }
        }
    }
}
