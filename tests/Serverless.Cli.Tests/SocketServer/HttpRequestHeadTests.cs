using System.Text;
using Serverless.Hosting.Sockets;

namespace Serverless.Cli.Tests.SocketServer;

/// <summary>
/// <see cref="HttpRequestHead.Parse"/> over raw bytes: what a good head yields, and every head a lenient
/// parser would have to guess about refused with its exact status.
/// </summary>
public sealed class HttpRequestHeadTests
{
    /// <summary>Parses a head given with CRLF line ends, without the final blank line (as the connection hands it over).</summary>
    private static HttpRequestHead Parse(string head) => HttpRequestHead.Parse(Encoding.Latin1.GetBytes(head));

    private static HttpParseException Refused(string head) => Assert.Throws<HttpParseException>(() => Parse(head));

    [Fact]
    public void Get_WithHost_IsKeepAliveWithoutBody()
    {
        var head = Parse("GET /v2/health/live HTTP/1.1\r\nHost: localhost:8080");
        Assert.Equal("GET", head.Method);
        Assert.Equal("/v2/health/live", head.Path);
        Assert.Null(head.Query);
        Assert.True(head.IsHttp11);
        Assert.True(head.KeepAlive);
        Assert.False(head.IsHead);
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.Equal(0, head.ContentLength);
        Assert.Equal(0, head.DeclaredLength);
        Assert.False(head.ExpectContinue);
        Assert.Null(head.ContentType);
        Assert.Null(head.InferenceHeaderContentLength);
    }

    [Fact]
    public void Post_WithContentLength_CapturesLengthAndTypes()
    {
        var head = Parse("POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
            "Inference-Header-Content-Length: 123\r\nContent-Length: 4567");
        Assert.Equal("POST", head.Method);
        Assert.Equal(BodyFraming.ContentLength, head.Framing);
        Assert.Equal(4567, head.ContentLength);
        Assert.Equal(4567, head.DeclaredLength);
        Assert.Equal("application/octet-stream", head.ContentType);
        Assert.Equal("123", head.InferenceHeaderContentLength);
    }

    [Fact]
    public void ContentLengthZero_IsNoBodyButDeclaredZero()
    {
        var head = Parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0");
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.Equal(0, head.DeclaredLength);
    }

    [Fact]
    public void Query_IsSplitFromThePath()
    {
        var head = Parse("GET /v2/models/m?verbose=1&x=%20y HTTP/1.1\r\nHost: x");
        Assert.Equal("/v2/models/m", head.Path);
        Assert.Equal("verbose=1&x=%20y", head.Query);
    }

    [Fact]
    public void EmptyQuery_IsEmptyNotNull()
    {
        var head = Parse("GET /a? HTTP/1.1\r\nHost: x");
        Assert.Equal("/a", head.Path);
        Assert.Equal(string.Empty, head.Query);
    }

    [Fact]
    public void Path_IsPassedOnAsSent()
    {
        var head = Parse("GET /v2/models/..%2Fx/./infer HTTP/1.1\r\nHost: x");
        Assert.Equal("/v2/models/..%2Fx/./infer", head.Path);
    }

    [Fact]
    public void Head_IsRecognised()
    {
        var head = Parse("HEAD /v2 HTTP/1.1\r\nHost: x");
        Assert.True(head.IsHead);
        Assert.Equal("HEAD", head.Method);
    }

    [Fact]
    public void UnknownMethodToken_IsPassedOn()
    {
        var head = Parse("PROPFIND /a HTTP/1.1\r\nHost: x");
        Assert.Equal("PROPFIND", head.Method);
        Assert.False(head.IsHead);
    }

    [Fact]
    public void Http10_WithoutHost_IsAcceptedAndCloses()
    {
        var head = Parse("GET / HTTP/1.0");
        Assert.False(head.IsHttp11);
        Assert.False(head.KeepAlive);
        Assert.Equal("/", head.Path);
    }

    [Fact]
    public void Http10_KeepAlive_StaysOpen()
    {
        var head = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive");
        Assert.False(head.IsHttp11);
        Assert.True(head.KeepAlive);
    }

    [Fact]
    public void Http10_KeepAliveAndClose_Closes()
    {
        Assert.False(Parse("GET / HTTP/1.0\r\nConnection: keep-alive, close").KeepAlive);
        Assert.False(Parse("GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive").KeepAlive);
    }

    [Theory]
    [InlineData("close")]
    [InlineData("CLOSE")]
    [InlineData("Upgrade, close")]
    [InlineData("keep-alive,close")]
    [InlineData(" foo ,\tclose\t")]
    public void Http11_ConnectionCloseToken_Closes(string value)
    {
        var head = Parse($"GET / HTTP/1.1\r\nHost: x\r\nConnection: {value}");
        Assert.False(head.KeepAlive);
    }

    [Theory]
    [InlineData("keep-alive")]
    [InlineData("Upgrade")]
    [InlineData("closed")]
    [InlineData("")]
    public void Http11_ConnectionWithoutClose_StaysOpen(string value)
    {
        var head = Parse($"GET / HTTP/1.1\r\nHost: x\r\nConnection: {value}");
        Assert.True(head.KeepAlive);
    }

    [Fact]
    public void Chunked_IsChunkedWithNoDeclaredLength()
    {
        var head = Parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked");
        Assert.Equal(BodyFraming.Chunked, head.Framing);
        Assert.Null(head.DeclaredLength);
    }

    [Fact]
    public void ExpectContinue_IsCaptured()
    {
        var head = Parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-Continue");
        Assert.True(head.ExpectContinue);
    }

    [Fact]
    public void ExpectContinue_InHttp10_IsIgnored()
    {
        // RFC 9110, 10.1.1: a server MUST ignore a 100-continue expectation in an HTTP/1.0 request.
        var head = Parse("POST /a HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue");
        Assert.False(head.ExpectContinue);
    }

    [Fact]
    public void HeaderNames_AreCaseInsensitive_AndValuesTrimmed()
    {
        var head = Parse("POST /a HTTP/1.1\r\nhOsT: x\r\ncontent-length:\t 12 \t\r\nCONTENT-TYPE:   text/plain; charset=utf-8  \r\n" +
            "inference-header-content-length: 7\r\nconnection: CLOSE");
        Assert.Equal(12, head.ContentLength);
        Assert.Equal("text/plain; charset=utf-8", head.ContentType);
        Assert.Equal("7", head.InferenceHeaderContentLength);
        Assert.False(head.KeepAlive);
    }

    [Fact]
    public void TwoEqualContentLengths_AreAccepted()
    {
        var head = Parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 10");
        Assert.Equal(10, head.ContentLength);
    }

    [Fact]
    public void UnknownHeaders_AndTabsInValues_AreAccepted()
    {
        var head = Parse("GET /a HTTP/1.1\r\nHost: x\r\nX-Thing: a\tb\r\nAccept: */*\r\nX-Empty:");
        Assert.Equal("/a", head.Path);
    }

    [Fact]
    public void ExactlyMaxHeaderLines_AreAccepted()
    {
        var head = Parse("GET / HTTP/1.1\r\nHost: x" + string.Concat(Enumerable.Range(1, HttpRequestHead.MaxHeaderCount - 1).Select(i => $"\r\nX-{i}: v")));
        Assert.True(head.KeepAlive);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\nHost: x")]                    // bare LF after the request line
    [InlineData("GET / HTTP/1.1\r\nHost: x\nX-A: b")]          // bare LF between headers
    [InlineData("GET / HTTP/1.1\r\nHost: x\rX-A: b")]          // bare CR
    [InlineData("GET /")]                                      // no version
    [InlineData("GET")]
    [InlineData("")]
    [InlineData(" / HTTP/1.1\r\nHost: x")]                    // no method
    [InlineData("GET  / HTTP/1.1\r\nHost: x")]                // two spaces
    [InlineData("GET / HTTP/1.1 \r\nHost: x")]                // trailing space
    [InlineData("GET / HTTP/1.1 extra\r\nHost: x")]
    [InlineData("GE(T / HTTP/1.1\r\nHost: x")]                // method not a token
    [InlineData("GET / http/1.1\r\nHost: x")]                 // version is case-sensitive
    [InlineData("GET / HTTP/11\r\nHost: x")]
    [InlineData("GET / FOO/1.1\r\nHost: x")]
    public void MalformedRequestLine_Is400(string text)
    {
        Assert.Equal(400, Refused(text).Status);
    }

    [Theory]
    [InlineData("HTTP/2.0")]
    [InlineData("HTTP/0.9")]
    [InlineData("HTTP/1.2")]
    public void UnsupportedVersion_Is505(string version)
    {
        Assert.Equal(505, Refused($"GET / {version}\r\nHost: x").Status);
    }

    [Theory]
    [InlineData("http://example.com/v2")]                      // absolute-form
    [InlineData("*")]                                          // asterisk-form
    [InlineData("example.com:80")]                             // authority-form
    [InlineData("v2/health")]
    [InlineData("?x=1")]
    public void TargetNotStartingWithSlash_Is400(string target)
    {
        Assert.Equal(400, Refused($"OPTIONS {target} HTTP/1.1\r\nHost: x").Status);
    }

    [Theory]
    [InlineData("/caf\u00e9")]                                  // non-ASCII (Latin-1 byte 0xE9)
    [InlineData("/a\u0001b")]
    [InlineData("/a\u007fb")]
    [InlineData("/a\tb")]
    public void NonAsciiOrControlInTarget_Is400(string target)
    {
        Assert.Equal(400, Refused($"GET {target} HTTP/1.1\r\nHost: x").Status);
    }

    [Fact]
    public void Utf8BytesInTarget_Are400()
    {
        var bytes = Encoding.UTF8.GetBytes("GET /m\u00fcller HTTP/1.1\r\nHost: x");
        Assert.Equal(400, Assert.Throws<HttpParseException>(() => HttpRequestHead.Parse(bytes)).Status);
    }

    [Theory]
    [InlineData("/a#frag")]
    [InlineData("/#")]
    [InlineData("/a?x=1#frag")]                                // a fragment after the query is a fragment too
    [InlineData("/a?#")]
    public void Fragment_Is400(string target)
    {
        var error = Refused($"GET {target} HTTP/1.1\r\nHost: x");
        Assert.Equal(400, error.Status);
        Assert.Contains("fragment", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo")]
    [InlineData("GET / HTTP/1.1\r\n Host: x")]
    public void ObsoleteLineFolding_Is400(string text)
    {
        var error = Refused(text);
        Assert.Equal(400, error.Status);
        Assert.Contains("folding", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host : x")]
    [InlineData("Host\t: x")]
    [InlineData("Content-Length : 5")]
    public void WhitespaceBeforeColon_Is400(string header)
    {
        Assert.Equal(400, Refused($"GET / HTTP/1.1\r\n{header}").Status);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nNoColon")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n: value")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX(A): b")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\nX-A: b")]     // an empty line inside the head
    public void MalformedHeaderLine_Is400(string text)
    {
        Assert.Equal(400, Refused(text).Status);
    }

    [Theory]
    [InlineData("a\u0000b")]
    [InlineData("a\u0001b")]
    [InlineData("a\u001bb")]
    [InlineData("a\u007fb")]
    public void ControlCharacterInValue_Is400(string value)
    {
        var error = Refused($"GET / HTTP/1.1\r\nHost: x\r\nX-A: {value}");
        Assert.Equal(400, error.Status);
        Assert.Contains("control character", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("+5")]
    [InlineData("")]
    [InlineData("5 5")]
    [InlineData("5,5")]
    [InlineData("0x10")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999")]                        // over long.MaxValue
    public void BadContentLength_Is400(string value)
    {
        var error = Refused($"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}");
        Assert.Equal(400, error.Status);
        Assert.Contains("Content-Length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoDifferentContentLengths_Are400()
    {
        var error = Refused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 11");
        Assert.Equal(400, error.Status);
        Assert.Contains("two different", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 0")]
    public void ContentLengthWithTransferEncoding_Is400(string headers)
    {
        Assert.Equal(400, Refused($"POST / HTTP/1.1\r\nHost: x\r\n{headers}").Status);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("gzip, chunked")]
    [InlineData("chunked, gzip")]
    [InlineData("identity")]
    [InlineData("")]
    public void TransferEncodingOtherThanChunked_Is501(string value)
    {
        Assert.Equal(501, Refused($"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}").Status);
    }

    [Fact]
    public void TwoTransferEncodingHeaders_Are501()
    {
        Assert.Equal(501, Refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked").Status);
    }

    [Fact]
    public void ChunkedTwice_Is400SayingTwice()
    {
        var refused = Refused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked");
        Assert.Equal(400, refused.Status);
        Assert.Contains("twice", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChunkedInHttp10_Is400()
    {
        Assert.Equal(400, Refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked").Status);
    }

    [Fact]
    public void MissingHostOnHttp11_Is400()
    {
        var error = Refused("GET / HTTP/1.1\r\nAccept: */*");
        Assert.Equal(400, error.Status);
        Assert.Contains("Host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoHeadersAtAllOnHttp11_Is400()
    {
        Assert.Equal(400, Refused("GET / HTTP/1.1").Status);
    }

    [Fact]
    public void TwoHosts_Are400()
    {
        var error = Refused("GET / HTTP/1.1\r\nHost: a\r\nhost: a");
        Assert.Equal(400, error.Status);
        Assert.Contains("more than one Host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreThanMaxHeaderLines_Is431()
    {
        var text = "GET / HTTP/1.1\r\nHost: x" + string.Concat(Enumerable.Range(1, HttpRequestHead.MaxHeaderCount).Select(i => $"\r\nX-{i}: v"));
        Assert.Equal(431, Refused(text).Status);
    }

    [Theory]
    [InlineData("100-continue-please")]
    [InlineData("200-ok")]
    [InlineData("")]
    public void ExpectOtherThanContinue_Is417(string value)
    {
        Assert.Equal(417, Refused($"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: {value}").Status);
    }

    [Fact]
    public void ErrorMessages_ShowOnlyPrintableAscii()
    {
        var error = Refused("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\u00002");
        Assert.Equal(400, error.Status);
        Assert.DoesNotContain('\0', error.Message);
    }

    [Fact]
    public void Printable_ReplacesControlsAndCutsLongText()
    {
        Assert.Equal("a?b", HttpRequestHead.Printable("a\nb"u8));
        var longText = HttpRequestHead.Printable(Encoding.ASCII.GetBytes(new string('x', 200)));
        Assert.Equal(new string('x', 80) + "...", longText);
    }
}
