using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Serverless.Core.Protocol;

/// <summary>
/// Parses one JSON number (RFC 8259 grammar, strictly: no '+' sign, no leading zeros, digits on both sides of
/// '.', digits after 'e') from UTF-8 into a float or double, correctly rounded (ties to even), so the result is
/// bit-identical to <c>float.Parse</c>/<c>double.Parse</c>. (Not always to <c>Utf8Parser</c>, which
/// <c>Utf8JsonReader.GetSingle/GetDouble</c> use: it rounds an exact tie away from even when the number carries
/// more than about 20 digits, trailing zeros included, e.g. "16777217.000000000000" to 16777218.)
/// <para>
/// The common case takes one pass over the bytes and one floating-point operation: up to 19 significant
/// digits are gathered into a <see cref="ulong"/> mantissa <c>m</c> with a decimal exponent <c>e</c>. When
/// <c>m &lt;= 2^53</c> and <c>|e| &lt;= 22</c>, both <c>m</c> and <c>10^|e|</c> are exact doubles, so the
/// single IEEE multiply or divide <c>m * 10^e</c> is the correctly rounded double of the decimal value.
/// </para>
/// <para>
/// For a float, that double is rounded once more. Every float and every midpoint between two adjacent floats
/// is a double (24 and 25 significant bits), and rounding is monotonic, so the double lands on the same side
/// of each float midpoint as the exact value does, unless it lands exactly on one. Only then can the second
/// rounding differ from rounding the exact value once (the exact value may lie just off the midpoint), and
/// only then do we fall back. In the fast path's range (1e-22 to 9.1e37) floats are normal and doubles carry
/// 29 more fraction bits than floats, so "is a float midpoint" is "the low 29 bits are 1 followed by zeros".
/// </para>
/// Everything else (more than 19 significant digits that are not all trailing zeros, larger exponents,
/// subnormals, overflow, the rare float midpoint) goes to <c>float.Parse</c>/<c>double.Parse</c> on the same
/// bytes, which the grammar check has already passed.
/// </summary>
internal static class FastFloatParser
{
    private const int MaxMantissaDigits = 19; // 10^19 - 1 < 2^64
    private const ulong MaxExactMantissa = 1UL << 53;
    private const int MaxExactPower = 22; // 10^22 < 2^53 * 2^22: the largest power of ten a double holds exactly
    private const int ExponentCap = 100_000; // beyond any finite double; stops the exponent accumulator overflowing
    private const ulong FloatRoundingBits = (1UL << 29) - 1;
    private const ulong FloatMidpoint = 1UL << 28;

    /// <summary>Exact powers of ten 10^0 ... 10^22 (each has at most 53 significant bits).</summary>
    private static ReadOnlySpan<double> PowersOfTen =>
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    private static ReadOnlySpan<ulong> PowersOfTenInteger => [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// <summary>Parses <paramref name="text"/>, which must be exactly one JSON number and nothing else.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out float value) => Parse(text, 0, out value) == text.Length;

    /// <inheritdoc cref="TryParse(ReadOnlySpan{byte}, out float)"/>
    public static bool TryParse(ReadOnlySpan<byte> text, out double value) => Parse(text, 0, out value) == text.Length;

    /// <summary>
    /// Parses the JSON number that starts at <paramref name="start"/> and returns the index just past it, or -1
    /// (value undefined) when the bytes there do not begin with a JSON number. It stops at the first byte that
    /// cannot continue the number; the caller decides whether that byte may follow a number (so "01" parses
    /// "0" and leaves "1" for the caller to reject). Out-of-range values come back as infinities, like
    /// <c>float.Parse</c>.
    /// </summary>
    public static int TryParse(ReadOnlySpan<byte> text, int start, out float value) => Parse(text, start, out value);

    /// <inheritdoc cref="TryParse(ReadOnlySpan{byte}, int, out float)"/>
    public static int TryParse(ReadOnlySpan<byte> text, int start, out double value) => Parse(text, start, out value);

    // One body for both types, T being float or double only (the public overloads). T carries no constraint on
    // purpose: crossgen2 precompiles an instantiation over a primitive type only when the type parameter has no
    // constraints (an interface such as IBinaryFloatingPointIeee754<T> lives outside our version bubble), so a
    // constrained T left the first request to run JIT-compiled Tier-0 code. typeof(T) tests fold away in each
    // instantiation, R2R and JIT alike.
    internal static int Parse<T>(ReadOnlySpan<byte> text, int start, out T value)
    {
        Debug.Assert(typeof(T) == typeof(float) || typeof(T) == typeof(double));
        var p = start;
        var negative = false;
        if ((uint)p < (uint)text.Length && text[p] == (byte)'-')
        {
            negative = true;
            p++;
        }

        if ((uint)p >= (uint)text.Length)
        {
            value = default!; // T is float or double
            return -1;
        }

        ulong mantissa = 0;
        var digits = 0;      // significant digits in the mantissa
        var exponent = 0;    // decimal exponent applied to the mantissa
        var inexact = false; // a non-zero digit did not fit in the mantissa
        var d = (uint)(text[p] - '0');
        if (d == 0)
        {
            p++;
        }
        else if (d <= 9)
        {
            do
            {
                if (digits < MaxMantissaDigits)
                {
                    mantissa = (mantissa * 10) + d;
                    digits++;
                }
                else
                {
                    exponent++;
                    inexact |= d != 0;
                }

                p++;
            }
            while ((uint)p < (uint)text.Length && (d = (uint)(text[p] - '0')) <= 9);
        }
        else
        {
            value = default!;
            return -1;
        }

        if ((uint)p < (uint)text.Length && text[p] == (byte)'.')
        {
            p++;
            var fractionStart = p;

            // Fractions are where the digits are (e.g. -0.99215686): take up to eight at a time while they fit.
            // Counting them all as significant even when they start with zeros only makes the 19-digit limit
            // come sooner, which stays correct (the rest go digit by digit, or to the fallback).
            while (digits <= MaxMantissaDigits - 8 && p <= text.Length - 8)
            {
                var n = ReadDigits(BinaryPrimitives.ReadUInt64LittleEndian(text.Slice(p, 8)), out var chunk);
                mantissa = (mantissa * PowersOfTenInteger[n]) + chunk;
                digits += n;
                exponent -= n;
                p += n;
                if (n < 8)
                {
                    break;
                }
            }

            while ((uint)p < (uint)text.Length && (d = (uint)(text[p] - '0')) <= 9)
            {
                if (digits < MaxMantissaDigits)
                {
                    // Zeros before the first significant digit only move the exponent.
                    mantissa = (mantissa * 10) + d;
                    digits += mantissa == 0 ? 0 : 1;
                    exponent--;
                }
                else
                {
                    inexact |= d != 0;
                }

                p++;
            }

            if (p == fractionStart)
            {
                value = default!;
                return -1;
            }
        }

        if ((uint)p < (uint)text.Length && (text[p] | 0x20) == (byte)'e')
        {
            p++;
            var exponentNegative = false;
            if ((uint)p < (uint)text.Length && text[p] is (byte)'+' or (byte)'-')
            {
                exponentNegative = text[p] == (byte)'-';
                p++;
            }

            var exponentStart = p;
            var explicitExponent = 0;
            while ((uint)p < (uint)text.Length && (d = (uint)(text[p] - '0')) <= 9)
            {
                if (explicitExponent < ExponentCap)
                {
                    explicitExponent = (explicitExponent * 10) + (int)d;
                }

                p++;
            }

            if (p == exponentStart)
            {
                value = default!;
                return -1;
            }

            exponent += exponentNegative ? -explicitExponent : explicitExponent;
        }

        if (!inexact)
        {
            if (mantissa == 0)
            {
                var zero = negative ? -0.0 : 0.0;
                if (typeof(T) == typeof(double))
                {
                    value = Unsafe.As<double, T>(ref zero);
                    return p;
                }

                var singleZero = (float)zero; // exact, sign kept
                value = Unsafe.As<float, T>(ref singleZero);
                return p;
            }

            if (mantissa <= MaxExactMantissa && exponent is >= -MaxExactPower and <= MaxExactPower)
            {
                var result = (double)mantissa;
                result = exponent < 0 ? result / PowersOfTen[-exponent] : result * PowersOfTen[exponent];
                if (negative)
                {
                    result = -result;
                }

                if (typeof(T) == typeof(double))
                {
                    value = Unsafe.As<double, T>(ref result);
                    return p;
                }

                if ((BitConverter.DoubleToUInt64Bits(result) & FloatRoundingBits) != FloatMidpoint)
                {
                    var single = (float)result;
                    value = Unsafe.As<float, T>(ref single);
                    return p;
                }
            }
        }

        return Fallback(text[start..p], out value) ? p : -1;
    }

    // The leading ASCII digits of eight bytes (loaded little-endian, so the first is the lowest byte): how many
    // (0-8) and their value. A byte is a digit when its high nibble is 3 and adding 6 keeps it 3 (0x3A-0x3F
    // become 0x40-0x45); a byte >= 0xFA carries into the next one up, but it is a non-digit itself, and only
    // the first non-digit matters. The n digits are shifted to the top so the bytes below them read as leading
    // zeros (whatever the subtraction did to bytes above them is shifted out), then three multiply-adds merge
    // neighbours: bytes into 2-digit numbers in 16-bit lanes, those into 4-digit numbers in 32-bit lanes (each
    // step "high part * base + low part", no lane overflows), and the two halves.
    private static int ReadDigits(ulong bytes, out ulong value)
    {
        var nonDigits = ((bytes & 0xF0F0F0F0F0F0F0F0) ^ 0x3030303030303030) | (((bytes + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) ^ 0x3030303030303030);
        var n = nonDigits == 0 ? 8 : BitOperations.TrailingZeroCount(nonDigits) >> 3;
        if (n == 0)
        {
            value = 0;
            return 0;
        }

        var v = (bytes - 0x3030303030303030) << ((8 - n) * 8);
        v = ((v * 10) + (v >> 8)) & 0x00FF00FF00FF00FF;     // lane k: digit 2k * 10 + digit 2k+1
        v = ((v * 100) + (v >> 16)) & 0x0000FFFF0000FFFF;   // lane j: pair 2j * 100 + pair 2j+1
        value = ((v & 0xFFFF) * 10_000) + (v >> 32);
        return n;
    }

    // The runtime's parser is correctly rounded for every input (overflow gives an infinity). The bytes are a
    // strict JSON number, which NumberStyles.Float accepts as a whole.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Fallback<T>(ReadOnlySpan<byte> number, out T value)
    {
        if (typeof(T) == typeof(double))
        {
            var ok = double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var d);
            value = Unsafe.As<double, T>(ref d);
            return ok;
        }

        var parsed = float.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var f);
        value = Unsafe.As<float, T>(ref f);
        return parsed;
    }
}
