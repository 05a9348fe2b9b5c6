using Serverless.Cli.Commands;
using Serverless.Cli.Hosting;
using Serverless.Tests.Shared;

namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// The real <c>serve</c> host (Kestrel on 127.0.0.1, a free port) in this process, over the repository's
/// manifests and the verified local store, with a 1 MiB request limit so 413 is cheap to provoke. One per
/// test class; models load lazily on first use, as in production.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const long RequestLimitBytes = 1024 * 1024;

    private ServeHost? _host;

    public HttpClient Client { get; private set; } = null!;

    public Uri BaseAddress => _host!.BaseAddress;

    public StringWriter Output { get; } = new();

    /// <summary>serve over the repository's manifests and verified store, on a free loopback port.</summary>
    internal static ServeOptions RepoServeOptions() => new()
    {
        Host = "127.0.0.1",
        Port = 0,
        ModelsDir = RepoPaths.Models,
        Store = new Uri(RepoPaths.ModelStore).AbsoluteUri,
    };

    public async Task InitializeAsync()
    {
        TestEnvironment.EnsureOrtLibrary();
        var options = RepoServeOptions() with { MaxRequestBytes = RequestLimitBytes };
        _host = await ServeHost.StartAsync(options, new CliConsole(Output, Output, isTerminal: false), CancellationToken.None);
        Client = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
