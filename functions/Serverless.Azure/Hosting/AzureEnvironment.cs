using Serverless.Core.Hosting;
using Serverless.Core.Models;

namespace Serverless.Azure.Hosting;

/// <summary>
/// The process environment with Azure Functions defaults laid under it. Inside Functions (WEBSITE_INSTANCE_ID
/// set) the model cache defaults to the instance's local temp folder, because HOME there is a network share
/// shared by all instances, slow to write and billed. The model manifests default to the <c>models/</c> folder
/// packaged beside the worker, because the host may start the worker from another working directory.
/// </summary>
internal sealed class AzureEnvironment(IEnvironment inner, string appDirectory) : IEnvironment
{
    public static AzureEnvironment System { get; } = new(SystemEnvironment.Instance, AppContext.BaseDirectory);

    public bool InFunctions => !string.IsNullOrEmpty(inner.GetVariable("WEBSITE_INSTANCE_ID"));

    public string? GetVariable(string name)
    {
        var value = inner.GetVariable(name);
        if (!string.IsNullOrEmpty(value))
        {
            return value;
        }

        return name switch
        {
            "MODEL_CACHE_DIR" when InFunctions => Path.Combine(Path.GetTempPath(), "models"),
            "SERVERLESS_MODELS_DIR" when ModelCatalog.FolderHasManifests(Path.Combine(appDirectory, "models")) => Path.Combine(appDirectory, "models"),
            _ => value,
        };
    }

    public string CurrentDirectory => inner.CurrentDirectory;

    public string HomeDirectory => inner.HomeDirectory;

    public long TotalAvailableMemoryBytes => inner.TotalAvailableMemoryBytes;
}
