using System.Buffers.Text;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Serverless.Core.Protocol;

/// <summary>
/// The fast path for the commonest input: a flat JSON array of floating-point numbers. It scans the UTF-8
/// directly (whitespace, number, comma) and parses each number with <see cref="Utf8Parser"/>, the same
/// parser <c>Utf8JsonReader.TryGetSingle/TryGetDouble</c> use, so values are bit-identical to the token
/// path. It only answers "done" for input it fully understands: exactly <c>destination.Length</c> finite
/// numbers in one flat array. Everything else returns false and the caller re-reads with the token reader,
/// which produces the precise error. The span has already been validated as JSON by the request reader.
/// </summary>
internal static class FlatNumberScanner
{
    public static bool TryRead<T>(ReadOnlySpan<byte> json, Span<T> destination) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var p = SkipWhitespace(json, 0);
        if (p >= json.Length || json[p] != (byte)'[')
        {
            return false;
        }

        p = SkipWhitespace(json, p + 1);
        var n = 0;
        if (p < json.Length && json[p] == (byte)']')
        {
            return destination.Length == 0 && SkipWhitespace(json, p + 1) == json.Length;
        }

        while (true)
        {
            var end = NumberEnd(json, p);
            if (end == p || n >= destination.Length || !TryParse(json[p..end], out T value) || !T.IsFinite(value))
            {
                return false;
            }

            destination[n++] = value;
            p = SkipWhitespace(json, end);
            if (p >= json.Length)
            {
                return false;
            }

            if (json[p] == (byte)',')
            {
                p = SkipWhitespace(json, p + 1);
                continue;
            }

            return json[p] == (byte)']' && n == destination.Length && SkipWhitespace(json, p + 1) == json.Length;
        }
    }

    // Utf8Parser has no generic entry point; the type tests are JIT-time constants, so each instantiation
    // compiles to a direct call of the one overload it needs.
    private static bool TryParse<T>(ReadOnlySpan<byte> text, out T value) where T : unmanaged
    {
        bool ok;
        int consumed;
        if (typeof(T) == typeof(float))
        {
            ok = Utf8Parser.TryParse(text, out float f, out consumed);
            value = Unsafe.As<float, T>(ref f);
        }
        else if (typeof(T) == typeof(double))
        {
            ok = Utf8Parser.TryParse(text, out double d, out consumed);
            value = Unsafe.As<double, T>(ref d);
        }
        else
        {
            throw new NotSupportedException($"FlatNumberScanner reads float and double, not {typeof(T).Name}.");
        }

        return ok && consumed == text.Length;
    }

    // JSON numbers use only these bytes; the grammar itself was checked when the request was tokenized.
    private static int NumberEnd(ReadOnlySpan<byte> json, int p)
    {
        while (p < json.Length && json[p] is (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E')
        {
            p++;
        }

        return p;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int p)
    {
        while (p < json.Length && json[p] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            p++;
        }

        return p;
    }
}
