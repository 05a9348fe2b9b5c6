using System.Runtime.CompilerServices;

namespace Serverless.Core.Protocol;

/// <summary>
/// The fast path for the commonest input: a flat JSON array of floating-point numbers. It scans the UTF-8
/// directly (whitespace, number, comma) and parses each number with <see cref="FastFloatParser"/>, which checks
/// the JSON number grammar strictly and rounds correctly; the token path parses its number tokens with the same
/// parser, so both give the same bits. It only answers "done" for
/// input it fully understands: exactly <c>destination.Length</c> finite numbers in one flat array, with
/// nothing but JSON whitespace around them. Everything else returns false and the caller re-reads with the
/// token reader, which produces the precise error.
/// </summary>
internal static class FlatNumberScanner
{
    public static bool TryRead(ReadOnlySpan<byte> json, Span<float> destination) => Read(json, destination);

    /// <inheritdoc cref="TryRead(ReadOnlySpan{byte}, Span{float})"/>
    public static bool TryRead(ReadOnlySpan<byte> json, Span<double> destination) => Read(json, destination);

    // T is float or double (the overloads above). Unconstrained so that crossgen2 precompiles both
    // instantiations (see FastFloatParser.Parse); typeof(T) tests fold away. Not inlined into the overloads:
    // the loop keeps its own Tier-1 body (inlined into a caller it was compiled less well, ~20% slower).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Read<T>(ReadOnlySpan<byte> json, Span<T> destination)
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
            if (n >= destination.Length)
            {
                return false;
            }

            p = FastFloatParser.Parse(json, p, out T value);
            if (p < 0 || !IsFinite(value))
            {
                return false;
            }

            destination[n++] = value;

            // The usual separator is a bare comma; anything else goes the general way.
            if (p < json.Length && json[p] == (byte)',')
            {
                p = SkipWhitespace(json, p + 1);
                continue;
            }

            p = SkipWhitespace(json, p);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFinite<T>(T value) =>
        typeof(T) == typeof(float) ? float.IsFinite(Unsafe.As<T, float>(ref value)) : double.IsFinite(Unsafe.As<T, double>(ref value));

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int p)
    {
        while (p < json.Length && json[p] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            p++;
        }

        return p;
    }
}
