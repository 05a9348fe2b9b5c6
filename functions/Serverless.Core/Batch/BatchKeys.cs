using System.Security.Cryptography;
using System.Text;

namespace Serverless.Core.Batch;

/// <summary>
/// Object keys of one job, derived only from the input key and its revision (version id, else ETag), so
/// a redelivered event writes the same objects instead of duplicates:
/// <c>results/&lt;name&gt;.&lt;tag&gt;.jsonl</c> (one output line per input line),
/// <c>results/&lt;name&gt;.&lt;tag&gt;.summary.json</c>, and work files under
/// <c>results/_work/&lt;name&gt;.&lt;tag&gt;/</c> (checkpoint and parts; expire them with a lifecycle rule).
/// &lt;name&gt; is the input key without the incoming prefix; &lt;tag&gt; is 16 hex digits of SHA-256(revision).
/// </summary>
public sealed record BatchKeys(string Output, string Summary, string Checkpoint, string PartPrefix, string Tag)
{
    public static BatchKeys For(BatchOptions options, string inputKey, string? eTag, string? versionId)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(inputKey);
        var name = inputKey.StartsWith(options.IncomingPrefix, StringComparison.Ordinal) ? inputKey[options.IncomingPrefix.Length..] : inputKey;
        if (name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^".jsonl".Length];
        }

        var revision = !string.IsNullOrEmpty(versionId) ? "v:" + versionId : "e:" + (eTag ?? string.Empty).Trim('"');
        var tag = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputKey + "\n" + revision)))[..16];
        var results = options.ResultsPrefix;
        var work = results + "_work/" + name + "." + tag + "/";
        return new BatchKeys(results + name + "." + tag + ".jsonl", results + name + "." + tag + ".summary.json", work + "checkpoint.json", work + "part-", tag);
    }

    /// <summary>Key of result part <paramref name="index"/>.</summary>
    public string Part(int index) => PartPrefix + index.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + ".jsonl";
}
