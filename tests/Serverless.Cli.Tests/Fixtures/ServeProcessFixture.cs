namespace Serverless.Cli.Tests.Fixtures;

/// <summary>One <c>serve</c> child process (the built CLI, default settings, a free loopback port) shared by a test class.</summary>
public sealed class ServeProcessFixture : IAsyncLifetime
{
    private ServeProcess? _serve;

    public Uri BaseAddress => _serve!.BaseAddress;

    /// <summary>What the process printed so far (stdout and stderr).</summary>
    public string Output => _serve!.Output;

    public async Task InitializeAsync() => _serve = await ServeProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
        }
    }
}
