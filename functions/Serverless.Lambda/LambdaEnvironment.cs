using Serverless.Core.Hosting;

namespace Serverless.Lambda;

/// <summary>
/// The process environment with Lambda's conventions applied before the shared settings read it: on a
/// per-model function <c>MODEL_PRELOAD=1</c> (or true) means "preload the model this function serves"
/// (MODEL_NAME) and 0/false means "load on first request". The CDK app sets the model name itself (the
/// shared comma-separated form); the 1/0 spelling is kept for people configuring a function by hand.
/// </summary>
public sealed class LambdaEnvironment(IEnvironment inner) : IEnvironment
{
    public string? GetVariable(string name)
    {
        var value = inner.GetVariable(name);
        if (name == "MODEL_PRELOAD" && value is not null)
        {
            switch (value.Trim().ToUpperInvariant())
            {
                case "1" or "TRUE" or "YES":
                    return inner.GetVariable("MODEL_NAME") is { Length: > 0 } model ? model : "*";
                case "0" or "FALSE" or "NO" or "":
                    return null;
            }
        }

        return value;
    }

    public string CurrentDirectory => inner.CurrentDirectory;

    public string HomeDirectory => inner.HomeDirectory;

    public long TotalAvailableMemoryBytes => inner.TotalAvailableMemoryBytes;

    /// <summary>True for 1/true/yes (case-insensitive).</summary>
    public bool IsTrue(string name) => GetVariable(name)?.Trim().ToUpperInvariant() is "1" or "TRUE" or "YES";
}
