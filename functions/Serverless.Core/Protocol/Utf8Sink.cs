using System.Buffers;
using System.Text.Unicode;
using Serverless.Core.Errors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Writes raw UTF-8 into an <see cref="IBufferWriter{T}"/>, counting bytes and enforcing the response limit
/// as it goes. JSON is written by hand because the response schema is small and fixed; strings from outside
/// (tensor names, BYTES elements) go through <see cref="WriteJsonString"/>, which escapes them.
/// </summary>
internal ref struct Utf8Sink
{
    private readonly IBufferWriter<byte> _writer;
    private readonly long _limit;

    public Utf8Sink(IBufferWriter<byte> writer, long limit)
    {
        _writer = writer;
        _limit = limit;
    }

    /// <summary>Bytes written so far.</summary>
    public long Count { get; private set; }

    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        CheckLimit(bytes.Length);
        var destination = _writer.GetSpan(bytes.Length);
        bytes.CopyTo(destination);
        _writer.Advance(bytes.Length);
        Count += bytes.Length;
    }

    public Span<byte> GetSpan(int sizeHint) => _writer.GetSpan(sizeHint);

    public void Advance(int count)
    {
        CheckLimit(count);
        _writer.Advance(count);
        Count += count;
    }

    public void WriteInt64(long value)
    {
        var span = _writer.GetSpan(24);
        value.TryFormat(span, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
        Advance(n);
    }

    /// <summary>
    /// Writes a quoted JSON string from UTF-8, escaping quotes, backslashes and control characters. Returns
    /// false, writing nothing, when the bytes are not valid UTF-8 (JSON strings cannot carry them).
    /// </summary>
    public bool TryWriteJsonString(scoped ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            return false;
        }

        Write("\""u8);
        while (!utf8.IsEmpty)
        {
            var i = 0;
            while (i < utf8.Length && utf8[i] >= 0x20 && utf8[i] != (byte)'"' && utf8[i] != (byte)'\\')
            {
                i++;
            }

            Write(utf8[..i]);
            if (i == utf8.Length)
            {
                break;
            }

            WriteEscape(utf8[i]);
            utf8 = utf8[(i + 1)..];
        }

        Write("\""u8);
        return true;
    }

    /// <summary>Writes a .NET string as a quoted, escaped JSON string (short strings need no allocation).</summary>
    public void WriteJsonString(string value)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        try
        {
            var n = System.Text.Encoding.UTF8.GetBytes(value, buffer);
            TryWriteJsonString(buffer[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes the bytes between the quotes of a JSON string that is already escaped (an echoed id).</summary>
    public void WriteQuotedRaw(scoped ReadOnlySpan<byte> escaped)
    {
        Write("\""u8);
        Write(escaped);
        Write("\""u8);
    }

    private void WriteEscape(byte b)
    {
        switch (b)
        {
            case (byte)'"':
                Write("\\\""u8);
                break;
            case (byte)'\\':
                Write("\\\\"u8);
                break;
            case (byte)'\n':
                Write("\\n"u8);
                break;
            case (byte)'\r':
                Write("\\r"u8);
                break;
            case (byte)'\t':
                Write("\\t"u8);
                break;
            default:
                Span<byte> u = stackalloc byte[6];
                "\\u00"u8.CopyTo(u);
                u[4] = Hex(b >> 4);
                u[5] = Hex(b & 0xF);
                Write(u);
                break;
        }
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private void CheckLimit(int adding)
    {
        if (Count + adding > _limit)
        {
            throw InferenceException.TooLarge($"The response would be larger than the limit of {_limit} bytes. Request fewer outputs (\"outputs\"), a smaller batch, or binary outputs (parameters.binary_data_output: true), which are about 3x smaller than JSON.");
        }
    }
}
