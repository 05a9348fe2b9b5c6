using System.Globalization;
using Serverless.Core.Errors;
using Serverless.Core.Hosting;

namespace Serverless.Azure.Batch;

/// <summary>
/// The Azure batch function's own settings (the scorer's are <see cref="Core.Batch.BatchOptions"/>):
/// <c>BATCH_TIME_LIMIT_SECONDS</c> (scoring time per invocation before a checkpoint; default 540, a minute under
/// host.json's 10-minute functionTimeout), <c>BATCH_MAX_ATTEMPTS</c> (failed invocations of one file before it is
/// moved to the poison prefix; default 5) and <c>BATCH_POISON_PREFIX</c> (default <c>poison/</c>).
/// </summary>
public sealed record AzureBatchSettings
{
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(540);

    public int MaxAttempts { get; init; } = 5;

    public string PoisonPrefix { get; init; } = "poison/";

    public static AzureBatchSettings FromEnvironment(IEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var settings = new AzureBatchSettings();
        if (Positive(environment, "BATCH_TIME_LIMIT_SECONDS", "a little under host.json's functionTimeout") is { } seconds)
        {
            settings = settings with { TimeLimit = TimeSpan.FromSeconds(seconds) };
        }

        if (Positive(environment, "BATCH_MAX_ATTEMPTS", "the failed invocations allowed before a file goes to the poison prefix, e.g. 5") is { } attempts)
        {
            settings = settings with { MaxAttempts = attempts };
        }

        if (environment.GetVariable("BATCH_POISON_PREFIX") is { Length: > 0 } poison)
        {
            settings = settings with { PoisonPrefix = poison.Trim('/') + "/" };
        }

        return settings;
    }

    private static int? Positive(IEnvironment environment, string name, string hint)
    {
        var text = environment.GetVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new InferenceException(ErrorCode.InvalidInput, $"{name}='{text}' is not a whole number above 0; set it to {hint}.");
    }
}
