using Serverless.Core.Hosting;

namespace Serverless.Core.Tests.Hosting;

internal sealed class FakeEnvironment : IEnvironment
{
    public Dictionary<string, string> Variables { get; } = [];

    public string? GetVariable(string name) => Variables.GetValueOrDefault(name);

    public string CurrentDirectory { get; set; } = "/work/app";

    public string HomeDirectory { get; set; } = "/home/user";

    public long TotalAvailableMemoryBytes { get; set; } = 2048L << 20;

    public FakeEnvironment With(string name, string value)
    {
        Variables[name] = value;
        return this;
    }
}
