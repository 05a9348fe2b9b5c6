using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Bench.Driver;

/// <summary>
/// <c>Serverless.Bench.Driver --self-test</c>: checks <see cref="RawHttpConnection"/> against a loopback socket
/// that answers with canned bytes, dribbled out a few bytes at a time so that every boundary (status line,
/// headers, chunk sizes, CRLFs, bodies) lands in the middle of a read, and with a client buffer small enough to
/// force compaction and growth. Good framing must be read to the exact byte (the next response on the same
/// connection proves nothing was over- or under-read); bad framing must fail loudly. bench/run.sh runs it before
/// the driver, because a client that misreads a response would time the wrong thing. Returns the exit code.
/// </summary>
internal static class SelfTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static int Run()
    {
        var failures = new List<string>();
        var count = 0;
        void Check(string name, Action test)
        {
            count++;
            try
            {
                test();
                Console.WriteLine($"  ok    {name}");
            }
#pragma warning disable CA1031 // A self-test reports every failure and goes on to the next case.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures.Add(name);
                Console.WriteLine($"  FAIL  {name}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        Check("Content-Length bodies, two responses on one connection, 1-byte writes", () =>
        {
            var responses = new[] { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n0123456789", "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc" };
            var requests = Serve(responses, pieceSize: 1, bufferSize: 16, client =>
            {
                var first = client.Exchange(Request("first"));
                Expect(first.Status == 200 && Text(first.Body) == "0123456789", $"first body '{Text(first.Body)}'");
                Expect(first.Headers["content-type"] == "text/plain", "headers are kept, case-insensitively");
                var second = client.Exchange(Request("second"));
                Expect(second.Status == 200 && Text(second.Body) == "abc", $"second body '{Text(second.Body)}'");
            });
            Expect(requests[0] == "POST /x HTTP/1.1\r\nHost: 127.0.0.1:" + requests[2] + "\r\nContent-Type: application/json\r\nContent-Length: 5\r\nX-Extra: 1\r\n\r\nfirst", $"request bytes were '{requests[0]}'");
            Expect(requests[1].EndsWith("Content-Length: 6\r\nX-Extra: 1\r\n\r\nsecond", StringComparison.Ordinal), $"second request was '{requests[1]}'");
        });

        Check("chunked body with chunk extensions and a trailer, 3-byte writes, then a Content-Length response", () =>
        {
            var chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nX-Trailer: t\r\n\r\n";
            Serve([chunked, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], pieceSize: 3, bufferSize: 8, client =>
            {
                var response = client.Exchange(Request("a"));
                Expect(Text(response.Body) == "hello abcdefghijklmnopqrstuvwxy", $"de-chunked body '{Text(response.Body)}'");
                Expect(response.Headers["Transfer-Encoding"] == "chunked", "framing header kept");
                var (status, milliseconds) = client.Time(Request("b"));
                Expect(status == 200 && milliseconds > 0, $"timed status {status}");
            });
        });

        Check("timed reads consume a large chunked body exactly (1 MB in 3 chunks, 64 KB buffer)", () =>
        {
            var chunk = new string('z', 350_000);
            var hex = chunk.Length.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
            var body = $"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n{hex}\r\n{chunk}\r\n{hex}\r\n{chunk}\r\n{hex}\r\n{chunk}\r\n0\r\n\r\n";
            Serve([body, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"], pieceSize: 50_000, bufferSize: 1 << 16, client =>
            {
                Expect(client.Time(Request("a")).Status == 200, "first status");
                Expect(client.Exchange(Request("b")).Status == 404, "the next response starts exactly after the last chunk");
            });
        });

        Check("a head longer than the buffer grows it", () =>
        {
            var big = new string('h', 300);
            Serve([$"HTTP/1.1 201 Created\r\nX-Big: {big}\r\nContent-Length: 1\r\n\r\n!"], pieceSize: 7, bufferSize: 16, client =>
            {
                var response = client.Exchange(Request("a"));
                Expect(response.Status == 201 && response.Headers["X-Big"] == big && Text(response.Body) == "!", "long header read whole");
            });
        });

        Check("an interim 100 Continue is skipped", () =>
            Serve(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"], pieceSize: 4, bufferSize: 16, client =>
            {
                var response = client.Exchange(Request("a"));
                Expect(response.Status == 200 && Text(response.Body) == "1", $"status {response.Status}");
            }));

        Check("Connection: close keeps the body, then refuses to send again", () =>
            Serve(["HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 5\r\n\r\nnope!"], pieceSize: 64, bufferSize: 64, client =>
            {
                var response = client.Exchange(Request("a"));
                Expect(response.Status == 400 && Text(response.Body) == "nope!", "error body kept");
                Throws<InvalidOperationException>(() => client.Exchange(Request("b")), "send after close");
            }));

        Check("a response with neither Content-Length nor chunked fails", () =>
            Serve(["HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "unframed body")));

        Check("a chunk longer than its size line fails", () =>
            Serve(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "overlong chunk")));

        Check("a bad chunk size fails", () =>
            Serve(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "non-hex size")));

        Check("other transfer codings and bad Content-Length fail", () =>
        {
            Serve(["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "gzip coding"));
            Serve(["HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "non-numeric length"));
        });

        Check("not an HTTP status line fails", () =>
            Serve(["SSH-2.0-OpenSSH\r\n\r\n"], pieceSize: 64, bufferSize: 64, client =>
                Throws<InvalidDataException>(() => client.Exchange(Request("a")), "bad status line")));

        Check("a connection closed in the middle of a body fails", () =>
            Serve(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some"], pieceSize: 64, bufferSize: 64, client =>
                Throws<IOException>(() => client.Time(Request("a")), "short body")));

        Check("bytes past the declared length are caught before the next send", () =>
            Serve(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"], pieceSize: 64, bufferSize: 64, client =>
            {
                Expect(Text(client.Exchange(Request("a")).Body) == "ok", "declared body");
                Throws<InvalidOperationException>(() => client.Exchange(Request("b")), "stray bytes");
            }));

        Console.WriteLine(failures.Count == 0
            ? $"raw HTTP client self-test: {count} cases passed"
            : $"raw HTTP client self-test: {failures.Count} of {count} cases failed: {string.Join("; ", failures)}");
        return failures.Count == 0 ? 0 : 1;
    }

    private static byte[] Request(string body) =>
        RawHttpConnection.BuildRequest("POST", "/x", s_port, "application/json", Encoding.ASCII.GetBytes(body), [new("X-Extra", "1")]);

    // The port of the canned server the current case runs against (cases run one at a time).
    private static int s_port;

    /// <summary>
    /// Accepts one connection; for each canned response, reads one whole request (head plus Content-Length body)
    /// and writes the response in <paramref name="pieceSize"/>-byte pieces. Returns the requests as text, then the port.
    /// </summary>
    private static List<string> Serve(string[] responses, int pieceSize, int bufferSize, Action<RawHttpConnection> client)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        s_port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var requests = new List<string>();
        var server = Task.Run(() =>
        {
            using var socket = listener.AcceptSocket();
            socket.NoDelay = true;
            socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
            var pending = new List<byte>();
            foreach (var response in responses)
            {
                requests.Add(ReadRequest(socket, pending));
                var bytes = Encoding.ASCII.GetBytes(response);
                for (var i = 0; i < bytes.Length; i += pieceSize)
                {
                    socket.Send(bytes, i, Math.Min(pieceSize, bytes.Length - i), SocketFlags.None);
                    Thread.Sleep(pieceSize < 8 ? 1 : 0);
                }
            }

            // Let the client read everything before the close.
            socket.Shutdown(SocketShutdown.Send);
            Thread.Sleep(50);
        });
        using (var connection = RawHttpConnection.Connect(s_port, Timeout, bufferSize))
        {
            client(connection);
        }

        if (!server.Wait(Timeout))
        {
            throw new TimeoutException("The canned server did not finish.");
        }

        requests.Add(s_port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return requests;
    }

    private static string ReadRequest(Socket socket, List<byte> pending)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.ASCII.GetString(pending.ToArray());
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0)
            {
                var line = text[..headEnd].Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                var length = line is null ? 0 : int.Parse(line.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                if (text.Length >= headEnd + 4 + length)
                {
                    pending.RemoveRange(0, headEnd + 4 + length);
                    return text[..(headEnd + 4 + length)];
                }
            }

            var received = socket.Receive(buffer);
            if (received == 0)
            {
                throw new IOException("The client closed before a whole request arrived.");
            }

            pending.AddRange(buffer.AsSpan(0, received).ToArray());
        }
    }

    private static string Text(byte[] bytes) => Encoding.ASCII.GetString(bytes);

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("expected: " + what);
        }
    }

    private static void Throws<T>(Action action, string what)
        where T : Exception
    {
        try
        {
            action();
        }
        catch (T)
        {
            return;
        }

        throw new InvalidOperationException($"expected {typeof(T).Name} for {what}, got none");
    }
}
