using Serverless.Core.Errors;

namespace Serverless.Core.Protocol;

/// <summary>The protocol endpoints the handler serves.</summary>
internal enum RouteKind
{
    NotFound,
    ServerMetadata,
    ServerLive,
    ServerReady,
    ModelMetadata,
    ModelReady,
    ModelInfer,
    RepositoryIndex,
    RepositoryLoad,
    RepositoryUnload,
}

/// <summary>
/// A request path resolved to an endpoint, its model name and version, and the one method it accepts.
/// Parsing rejects path tricks before anything looks a name up: empty, "." and ".." segments, percent
/// escapes, backslashes and control characters are a 400, and names must use letters, digits, '-', '_'
/// and '.' (what model manifests allow).
/// </summary>
internal readonly record struct ProtocolRoute(RouteKind Kind, string Method, string? Model = null, string? Version = null)
{
    public static ProtocolRoute Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var trimmed = path.AsSpan().Trim('/');
        foreach (var c in trimmed)
        {
            if (char.IsControl(c) || c is '%' or '\\')
            {
                throw InferenceException.BadInput($"The path '{Printable(path)}' contains '{Printable(c.ToString())}'; protocol paths use plain names without escapes, e.g. /v2/models/text-direction/infer.");
            }
        }

        var segments = trimmed.ToString().Split('/');
        foreach (var segment in segments)
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                throw InferenceException.BadInput($"The path '{Printable(path)}' has an empty, '.' or '..' segment; use a plain path such as /v2/models/text-direction/infer.");
            }
        }

        if (segments.Length == 0 || segments[0] != "v2")
        {
            return new(RouteKind.NotFound, string.Empty);
        }

        return segments.Length switch
        {
            1 => new(RouteKind.ServerMetadata, "GET"),
            3 when segments[1] == "health" && segments[2] == "live" => new(RouteKind.ServerLive, "GET"),
            3 when segments[1] == "health" && segments[2] == "ready" => new(RouteKind.ServerReady, "GET"),
            3 when segments[1] == "repository" && segments[2] == "index" => new(RouteKind.RepositoryIndex, "POST"),
            5 when segments[1] == "repository" && segments[2] == "models" && segments[4] == "load" => new(RouteKind.RepositoryLoad, "POST", Name(segments[3])),
            5 when segments[1] == "repository" && segments[2] == "models" && segments[4] == "unload" => new(RouteKind.RepositoryUnload, "POST", Name(segments[3])),
            _ when segments[1] == "models" => ParseModel(segments),
            _ => new(RouteKind.NotFound, string.Empty),
        };
    }

    // segments: v2 models {name} [versions {version}] [ready|infer]
    private static ProtocolRoute ParseModel(string[] segments)
    {
        if (segments.Length < 3)
        {
            return new(RouteKind.NotFound, string.Empty);
        }

        var model = Name(segments[2]);
        string? version = null;
        var next = 3;
        if (segments.Length >= 5 && segments[3] == "versions")
        {
            version = Name(segments[4], "version");
            next = 5;
        }

        if (segments.Length == next)
        {
            return new(RouteKind.ModelMetadata, "GET", model, version);
        }

        if (segments.Length == next + 1)
        {
            switch (segments[next])
            {
                case "ready":
                    return new(RouteKind.ModelReady, "GET", model, version);
                case "infer":
                    return new(RouteKind.ModelInfer, "POST", model, version);
            }
        }

        return new(RouteKind.NotFound, string.Empty);
    }

    private static string Name(string segment, string what = "model name")
    {
        foreach (var c in segment)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw InferenceException.BadInput($"The {what} '{Printable(segment)}' is not valid: use letters, digits, '-', '_' and '.' only.");
            }
        }

        return segment;
    }

    private static string Printable(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsControl(chars[i]))
            {
                chars[i] = '?';
            }
        }

        return new string(chars);
    }
}
