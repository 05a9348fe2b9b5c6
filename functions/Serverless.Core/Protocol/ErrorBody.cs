using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serverless.Core.Protocol;

/// <summary>
/// The protocol's error body, <c>{"error": "..."}</c>: one writer for every edge (the protocol handler, the
/// Lambda adapter, batch output lines). Its text is for a person, often read with curl in a terminal.
/// </summary>
public static class ErrorBody
{
    /// <summary>
    /// JSON as people read it: apostrophes, '&lt;', '&gt;', '&amp;', '+' and non-ASCII letters are written as
    /// themselves (<c>'text-direction'</c>, not <c>\u0027text-direction\u0027</c>); quotes, backslashes and
    /// control characters are still escaped, so it stays valid JSON. The default encoder's extra escaping
    /// protects JSON embedded in HTML, which these application/json bodies never are.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <c>{"error": message}</c>.</summary>
    public static void Write(IBufferWriter<byte> output, string message)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(message);
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
    }
}
