using System.Buffers.Text;
using System.Text;

namespace Serverless.Hosting.Sockets;

/// <summary>How the request body is framed.</summary>
internal enum BodyFraming
{
    None,
    ContentLength,
    Chunked,
}

/// <summary>
/// A request line and the headers the protocol handler needs, parsed strictly from the bytes up to the
/// blank line. Anything a lenient parser would have to guess about is refused (<see cref="HttpParseException"/>
/// with the status to answer): bare LF line ends, obsolete line folding, whitespace before a header's colon,
/// control characters, Content-Length together with Transfer-Encoding, two different Content-Lengths, a
/// transfer coding other than chunked, an HTTP/1.1 request without exactly one Host, and a target that is not
/// an absolute path. The path is passed on as sent (no percent-decoding, no dot-segment removal); the
/// protocol's router refuses escapes and dot segments with its own 400.
/// </summary>
internal sealed class HttpRequestHead
{
    /// <summary>Most header lines a request may have.</summary>
    public const int MaxHeaderCount = 100;

    private static readonly string[] KnownMethods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"];

    public string Method { get; private set; } = "GET";

    public string Path { get; private set; } = "/";

    public string? Query { get; private set; }

    /// <summary>True for HTTP/1.1, false for HTTP/1.0.</summary>
    public bool IsHttp11 { get; private set; }

    public BodyFraming Framing { get; private set; }

    public long ContentLength { get; private set; }

    public string? ContentType { get; private set; }

    public string? InferenceHeaderContentLength { get; private set; }

    /// <summary>The client sent <c>Expect: 100-continue</c> in an HTTP/1.1 request.</summary>
    public bool ExpectContinue { get; private set; }

    /// <summary>The connection stays open after the response (HTTP/1.1 without "close", or HTTP/1.0 with "keep-alive").</summary>
    public bool KeepAlive { get; private set; }

    public bool IsHead => ReferenceEquals(Method, "HEAD");

    /// <summary>Parses <paramref name="head"/>: the request line and header lines, each ending in CRLF, without the final empty line's CRLF.</summary>
    public static HttpRequestHead Parse(ReadOnlySpan<byte> head)
    {
        var result = new HttpRequestHead();
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        result.ParseRequestLine(requestLine);
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        var hosts = 0;
        var count = 0;
        long? contentLength = null;
        var chunked = false;
        bool? connectionClose = null;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            if (++count > MaxHeaderCount)
            {
                throw new HttpParseException(431, $"The request has more than {MaxHeaderCount} header lines.");
            }

            if (line.IsEmpty)
            {
                throw new HttpParseException(400, "The request head has an empty line before its end.");
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                throw new HttpParseException(400, "The request uses obsolete header line folding (a line starting with a space or tab); send each header on one line.");
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new HttpParseException(400, $"The header line '{Printable(line)}' has no name followed by ':'.");
            }

            var name = line[..colon];
            if (!IsToken(name))
            {
                throw new HttpParseException(400, $"The header name '{Printable(name)}' has a character headers may not contain (whitespace before ':' included).");
            }

            var value = line[(colon + 1)..].Trim(" \t"u8);
            foreach (var b in value)
            {
                if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
                {
                    throw new HttpParseException(400, $"The value of header '{Printable(name)}' has a control character.");
                }
            }

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out var used) || used != value.Length || length < 0 || value.IsEmpty || !IsDigits(value))
                {
                    throw new HttpParseException(400, $"Content-Length '{Printable(value)}' is not a non-negative whole number.");
                }

                if (contentLength is { } earlier && earlier != length)
                {
                    throw new HttpParseException(400, "The request has two different Content-Length headers.");
                }

                contentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                if (chunked)
                {
                    throw new HttpParseException(400, "The request has Transfer-Encoding twice; send 'Transfer-Encoding: chunked' once.");
                }

                if (!Ascii.EqualsIgnoreCase(value, "chunked"u8))
                {
                    throw new HttpParseException(501, $"Transfer-Encoding '{Printable(value)}' is not supported; send the body with Content-Length or as 'chunked' alone.");
                }

                chunked = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                hosts++;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
            {
                result.ContentType = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Inference-Header-Content-Length"u8))
            {
                result.InferenceHeaderContentLength = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                foreach (var range in value.Split((byte)','))
                {
                    var option = value[range].Trim(" \t"u8);
                    if (Ascii.EqualsIgnoreCase(option, "close"u8))
                    {
                        connectionClose = true;
                    }
                    else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
                    {
                        connectionClose ??= false;
                    }
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
            {
                if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                {
                    throw new HttpParseException(417, $"Expect '{Printable(value)}' is not supported; only 100-continue is.");
                }

                // An HTTP/1.0 client knows no 1xx responses: the expectation is ignored (RFC 9110, 10.1.1).
                result.ExpectContinue = result.IsHttp11;
            }
        }

        if (chunked && contentLength is not null)
        {
            throw new HttpParseException(400, "The request has both Content-Length and Transfer-Encoding; send one.");
        }

        if (result.IsHttp11 && hosts != 1)
        {
            throw new HttpParseException(400, hosts == 0 ? "An HTTP/1.1 request needs a Host header." : "The request has more than one Host header.");
        }

        if (chunked && !result.IsHttp11)
        {
            throw new HttpParseException(400, "Transfer-Encoding: chunked is not allowed in an HTTP/1.0 request.");
        }

        result.Framing = chunked ? BodyFraming.Chunked : contentLength > 0 ? BodyFraming.ContentLength : BodyFraming.None;
        result.ContentLength = contentLength ?? 0;
        result.KeepAlive = result.IsHttp11 ? connectionClose != true : connectionClose == false;
        return result;
    }

    /// <summary>The Content-Length to hand the protocol handler: the declared length, 0 without a body, null when chunked.</summary>
    public long? DeclaredLength => Framing == BodyFraming.Chunked ? null : ContentLength;

    private void ParseRequestLine(ReadOnlySpan<byte> line)
    {
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            throw new HttpParseException(400, $"The request line '{Printable(line)}' is not 'METHOD /path HTTP/1.1'.");
        }

        var method = line[..firstSpace];
        if (!IsToken(method))
        {
            throw new HttpParseException(400, $"The method '{Printable(method)}' is not an HTTP token.");
        }

        var afterMethod = line[(firstSpace + 1)..];
        var secondSpace = afterMethod.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            throw new HttpParseException(400, $"The request line '{Printable(line)}' is not 'METHOD /path HTTP/1.1'.");
        }

        var target = afterMethod[..secondSpace];
        var version = afterMethod[(secondSpace + 1)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            IsHttp11 = true;
        }
        else if (!version.SequenceEqual("HTTP/1.0"u8))
        {
            throw version.StartsWith("HTTP/"u8) && version.Length == 8
                ? new HttpParseException(505, $"{Printable(version)} is not supported; use HTTP/1.1.")
                : new HttpParseException(400, $"The request line '{Printable(line)}' is not 'METHOD /path HTTP/1.1'.");
        }

        if (target[0] != (byte)'/')
        {
            throw new HttpParseException(400, $"The request target '{Printable(target)}' is not a path starting with '/'.");
        }

        foreach (var b in target)
        {
            if (b is < 0x21 or > 0x7E)
            {
                throw new HttpParseException(400, "The request target has a byte outside visible ASCII.");
            }
        }

        // '#' may appear nowhere in a request target, the query included: a fragment after '?' is a fragment too.
        if (target.IndexOf((byte)'#') >= 0)
        {
            throw new HttpParseException(400, "The request target has a fragment ('#'); fragments are not sent to servers.");
        }

        Method = Intern(method);
        var question = target.IndexOf((byte)'?');
        var path = question < 0 ? target : target[..question];
        Path = Encoding.ASCII.GetString(path);
        Query = question < 0 ? null : Encoding.ASCII.GetString(target[(question + 1)..]);
    }

    private static string Intern(ReadOnlySpan<byte> method)
    {
        foreach (var known in KnownMethods)
        {
            if (method.Length == known.Length && Ascii.Equals(method, known))
            {
                return known;
            }
        }

        return Encoding.ASCII.GetString(method);
    }

    private static bool IsDigits(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Every byte is an RFC 9110 tchar (method and header names).</summary>
    private static bool IsToken(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 9110 tchar.</summary>
    private static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    /// <summary>Request bytes for an error message: printable ASCII kept, the rest as '?', at most 80 characters.</summary>
    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        var length = Math.Min(bytes.Length, 80);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '?';
        }

        return bytes.Length > 80 ? new string(chars) + "..." : new string(chars);
    }
}

/// <summary>A request the server refuses before the protocol handler sees it, with the status to answer.</summary>
internal sealed class HttpParseException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
