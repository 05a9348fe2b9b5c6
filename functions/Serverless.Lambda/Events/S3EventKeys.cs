using System.Text;

namespace Serverless.Lambda.Events;

/// <summary>S3 notifications URL-encode object keys form-style: '+' is a space and %XX a UTF-8 byte.</summary>
public static class S3EventKeys
{
    /// <summary>Decodes a key from a notification; malformed escapes are kept literally rather than failing.</summary>
    public static string Decode(string encodedKey)
    {
        ArgumentNullException.ThrowIfNull(encodedKey);
        if (encodedKey.AsSpan().IndexOfAny('+', '%') < 0)
        {
            return encodedKey;
        }

        var bytes = new List<byte>(encodedKey.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < encodedKey.Length; i++)
        {
            var c = encodedKey[i];
            if (c == '+')
            {
                bytes.Add((byte)' ');
            }
            else if (c == '%' && i + 2 < encodedKey.Length && IsHex(encodedKey[i + 1]) && IsHex(encodedKey[i + 2]))
            {
                bytes.Add((byte)((HexValue(encodedKey[i + 1]) << 4) | HexValue(encodedKey[i + 2])));
                i += 2;
            }
            else
            {
                var rune = Rune.GetRuneAt(encodedKey, i);
                var n = rune.EncodeToUtf8(utf8);
                for (var j = 0; j < n; j++)
                {
                    bytes.Add(utf8[j]);
                }

                i += rune.Utf16SequenceLength - 1;
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
