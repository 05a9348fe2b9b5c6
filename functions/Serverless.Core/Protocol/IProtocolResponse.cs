using System.Buffers;

namespace Serverless.Core.Protocol;

/// <summary>
/// Where <see cref="ProtocolHandler"/> writes its answer. The handler sets the status, content type and
/// headers and writes the body into <see cref="Body"/>; the adapter sends it afterwards. Because the handler
/// may replace a half-written success by an error, implementations must hold the body until the handler
/// returns (see <see cref="BufferedProtocolResponse"/>, which also tells the adapter the length up front).
/// </summary>
public interface IProtocolResponse
{
    int StatusCode { get; set; }

    string ContentType { get; set; }

    /// <summary>Adds or replaces a response header (Inference-Header-Content-Length, Retry-After).</summary>
    void SetHeader(string name, string value);

    /// <summary>The body being written.</summary>
    IBufferWriter<byte> Body { get; }

    /// <summary>Bytes written to <see cref="Body"/> so far.</summary>
    long BodyLength { get; }

    /// <summary>Discards the status, headers and body written so far, so that an error can replace them.</summary>
    void Clear();
}
