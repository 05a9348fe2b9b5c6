using Serverless.Core.Hosting;

namespace Serverless.Azure.Tests.Fixtures;

/// <summary>The environment seam with only the settings a test names, so tests never change the real process environment.</summary>
public sealed class FakeEnvironment(IReadOnlyDictionary<string, string> variables, string home) : IEnvironment
{
    public string? GetVariable(string name) => variables.TryGetValue(name, out var value) ? value : null;

    public string CurrentDirectory => home;

    public string HomeDirectory => home;

    public long TotalAvailableMemoryBytes => 4L << 30;
}
