using System.Text;
using System.Text.Json;
using Serverless.Core.Protocol;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>One response as it came off the wire: status line, headers in order, and the Content-Length body.</summary>
internal sealed record RawResponse(string StatusLine, int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The single value of header <paramref name="name"/>, or null; fails when it appears twice.</summary>
    public string? Header(string name)
    {
        var values = Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        Assert.True(values.Count <= 1, $"header {name} appears {values.Count} times");
        return values.Count == 0 ? null : values[0];
    }

    /// <summary>The <c>{"error": "..."}</c> message of a JSON error response.</summary>
    public string Error
    {
        get
        {
            Assert.Equal(ProtocolContentTypes.Json, Header("Content-Type"));
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.GetProperty("error").GetString()!;
        }
    }
}
