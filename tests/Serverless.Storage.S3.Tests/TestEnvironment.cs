using Serverless.Core.Hosting;

namespace Serverless.Storage.S3.Tests;

/// <summary>An empty environment (no AWS variables leak in from the machine), with optional variables.</summary>
internal sealed class TestEnvironment : IEnvironment
{
    public Dictionary<string, string> Variables { get; } = [];

    public string? GetVariable(string name) => Variables.GetValueOrDefault(name);

    public string CurrentDirectory => Directory.GetCurrentDirectory();

    public string HomeDirectory => "/nonexistent";

    public long TotalAvailableMemoryBytes => 2L << 30;
}
