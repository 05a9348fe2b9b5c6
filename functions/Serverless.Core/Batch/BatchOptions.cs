namespace Serverless.Core.Batch;

/// <summary>
/// Settings of <see cref="BatchScorer"/>. Hosts fill them from the environment
/// (<c>BATCH_RESULTS_PREFIX</c>, <c>BATCH_DEADLINE_RESERVE_MS</c>, ...; see <see cref="FromEnvironment"/>).
/// </summary>
public sealed record BatchOptions
{
    /// <summary>Where inputs are uploaded; the part of the key after it is kept in the result key.</summary>
    public string IncomingPrefix { get; init; } = "incoming/";

    /// <summary>Where results, summaries and work files (parts, checkpoints) go, in the input's bucket.</summary>
    public string ResultsPrefix { get; init; } = "results/";

    /// <summary>A result part is written (and progress checkpointed) once it holds this many bytes.</summary>
    public int PartBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Time kept back before the invocation deadline: when less than this is left, scoring stops, writes a
    /// checkpoint and asks for a continuation. It must cover one batched run plus two small writes.
    /// </summary>
    public TimeSpan DeadlineReserve { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest accepted line; a longer line becomes an error line without being buffered whole.</summary>
    public int MaxLineBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Largest element count of one input tensor (same meaning as the protocol's limit).</summary>
    public long MaxTensorElements { get; init; } = 64L * 1024 * 1024;

    /// <summary>Caps the rows joined into one run; null uses the manifest's maxBatchSize (0 disables joining).</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Reads the options from environment variables, keeping defaults for unset ones; bad values throw with the variable's name.</summary>
    public static BatchOptions FromEnvironment(Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var options = new BatchOptions();
        if (getEnvironmentVariable("BATCH_INCOMING_PREFIX") is { Length: > 0 } incoming)
        {
            options = options with { IncomingPrefix = Prefix(incoming) };
        }

        if (getEnvironmentVariable("BATCH_RESULTS_PREFIX") is { Length: > 0 } results)
        {
            options = options with { ResultsPrefix = Prefix(results) };
        }

        if (Int("BATCH_DEADLINE_RESERVE_MS") is { } reserve)
        {
            options = options with { DeadlineReserve = TimeSpan.FromMilliseconds(reserve) };
        }

        if (Int("BATCH_PART_BYTES") is { } part)
        {
            options = options with { PartBytes = Math.Max(part, 1024) };
        }

        if (Int("BATCH_MAX_BATCH_SIZE") is { } batch)
        {
            options = options with { MaxBatchSize = batch };
        }

        return options;

        int? Int(string name)
        {
            var text = getEnvironmentVariable(name);
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"{name}='{text}' is not a whole number 0 or more. Fix or unset the variable.");
        }
    }

    private static string Prefix(string value) => value.Trim('/') + "/";
}
