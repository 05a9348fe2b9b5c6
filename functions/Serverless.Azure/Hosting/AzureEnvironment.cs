using Serverless.Core.Hosting;

namespace Serverless.Azure.Hosting;

/// <summary>
/// The process environment with Azure Functions defaults laid under it: inside Functions (WEBSITE_INSTANCE_ID
/// set) the model cache defaults to the instance's local temp folder, because HOME there is a network share
/// shared by all instances, slow to write and billed.
/// </summary>
internal sealed class AzureEnvironment(IEnvironment inner) : IEnvironment
{
    public static AzureEnvironment System { get; } = new(SystemEnvironment.Instance);

    public bool InFunctions => !string.IsNullOrEmpty(inner.GetVariable("WEBSITE_INSTANCE_ID"));

    public string? GetVariable(string name)
    {
        var value = inner.GetVariable(name);
        if (string.IsNullOrEmpty(value) && name == "MODEL_CACHE_DIR" && InFunctions)
        {
            return Path.Combine(Path.GetTempPath(), "models");
        }

        return value;
    }

    public string CurrentDirectory => inner.CurrentDirectory;

    public string HomeDirectory => inner.HomeDirectory;

    public long TotalAvailableMemoryBytes => inner.TotalAvailableMemoryBytes;
}
