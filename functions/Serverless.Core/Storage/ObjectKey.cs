using Serverless.Core.Errors;

namespace Serverless.Core.Storage;

/// <summary>
/// Validation of object keys. Every store validates before touching its backend, so a key taken from a
/// manifest or a request can never name something outside the store's root: a local store would otherwise
/// turn "../../etc/passwd" into a real path, and S3 would silently normalise "a//b".
/// </summary>
public static class ObjectKey
{
    /// <summary>Longest key accepted (S3's own limit is 1,024 bytes of UTF-8).</summary>
    public const int MaxLength = 1024;

    /// <summary>Returns <paramref name="key"/> when it is a safe relative key; throws InvalidInput naming the problem otherwise.</summary>
    public static string Validate(string key)
    {
        var problem = FindProblem(key, allowTrailingSlash: false);
        return problem is null ? key : throw Invalid(key, problem);
    }

    /// <summary>Validates a listing prefix: empty, or a key that may end with '/'.</summary>
    public static string ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
        {
            return prefix;
        }

        var problem = FindProblem(prefix, allowTrailingSlash: true);
        return problem is null ? prefix : throw Invalid(prefix, problem);
    }

    /// <summary>True when <paramref name="key"/> passes <see cref="Validate"/>.</summary>
    public static bool IsValid(string? key) => key is not null && FindProblem(key, allowTrailingSlash: false) is null;

    /// <summary>True for a single path segment (a model name or version): a valid key without '/'.</summary>
    public static bool IsValidSegment(string? segment) => IsValid(segment) && !segment!.Contains('/', StringComparison.Ordinal);

    private static string? FindProblem(string key, bool allowTrailingSlash)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            return "it is empty";
        }

        if (key.Length > MaxLength)
        {
            return $"it is {key.Length} characters long (at most {MaxLength} allowed)";
        }

        foreach (var c in key)
        {
            if (c == '\\')
            {
                return "it contains a backslash (use '/' between segments)";
            }

            if (char.IsControl(c))
            {
                return $"it contains the control character U+{(int)c:X4}";
            }
        }

        if (key[0] == '/' || Path.IsPathRooted(key) || (key.Length >= 2 && key[1] == ':' && char.IsAsciiLetter(key[0])))
        {
            return "it is an absolute path (keys are relative to the store root)";
        }

        var segments = key.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                if (allowTrailingSlash && i == segments.Length - 1)
                {
                    continue;
                }

                return "it has an empty segment ('//' or a trailing '/')";
            }

            if (segment is "." or "..")
            {
                return $"it has a '{segment}' segment (keys can never leave the store root)";
            }
        }

        return null;
    }

    private static InferenceException Invalid(string key, string problem) =>
        new(ErrorCode.InvalidInput, $"The object key '{Printable(key)}' is not allowed: {problem}. Keys are relative paths like 'text-direction/1/model.onnx'.");

    /// <summary>The key with control characters escaped, so a hostile key cannot forge log lines.</summary>
    internal static string Printable(string key)
    {
        if (!key.Any(char.IsControl))
        {
            return key.Length > 200 ? key[..200] + "..." : key;
        }

        var builder = new System.Text.StringBuilder(key.Length + 16);
        foreach (var c in key)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return builder.ToString();
    }
}
