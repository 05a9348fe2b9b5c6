using System.Net;
using System.Net.Sockets;
using Serverless.Cli.Commands;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Commands;

/// <summary><c>serverless serve</c> option errors: human messages and non-zero exits, no stack traces.</summary>
public sealed class ServeCommandTests
{
    [Fact]
    public async Task Serve_PortInUse_ExitsWithCode2SuggestingAnotherPort()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var run = await CliRun.RunAsync(["serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", run.Error);
        Assert.Contains("--port", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task Serve_UnknownHttpServer_FailsListingTheChoices()
    {
        var run = await CliRun.RunAsync(["serve", "--http-server", "nginx", "--port", "0", .. CliRun.RepoModels]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("nginx", run.Error);
        Assert.Contains("sockets", run.Error);
        Assert.Contains("kestrel", run.Error);
    }

    [Fact]
    public async Task Serve_UnknownHttpServerInEnvironment_ExitsWithCode2NamingTheVariable()
    {
        var run = await CliProcess.RunAsync(new Dictionary<string, string?> { [ServeCommand.HttpServerVariable] = "nginx" }, "serve", "--port", "0");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("'nginx'", run.Error);
        Assert.Contains("SERVERLESS_HTTP_SERVER", run.Error);
        Assert.DoesNotContain("   at ", run.Output + run.Error);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("debug", "Debug")]
    [InlineData("info", "Information")]
    [InlineData("information", "Information")]
    [InlineData("warning", "Warning")]
    [InlineData("error", "Error")]
    public void ParseLogLevel_KnownNames_MapToTheirLevel(string name, string? expected) =>
        Assert.Equal(expected, ServeCommand.ParseLogLevel(name)?.ToString());

    [Fact]
    public async Task Serve_UnknownLogLevel_ExitsWithCode2ListingTheChoices()
    {
        var run = await CliRun.RunAsync(["serve", "--log-level", "loud", "--port", "0", .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("'loud'", run.Error);
        Assert.Contains("warning", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Theory]
    [InlineData("sockets", "Sockets")]
    [InlineData("kestrel", "Kestrel")]
    public void ParseHttpServer_KnownNames_MapToTheirKind(string name, string expected) =>
        Assert.Equal(expected, ServeCommand.ParseHttpServer(name).ToString());

    [Theory]
    [InlineData("sockets")]
    [InlineData("kestrel")]
    public async Task Serve_PortInUse_EitherHttpServer_ExitsWithCode2SuggestingAnotherPort(string server)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var run = await CliRun.RunAsync(["serve", "--http-server", server, "--port", port, .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", run.Error);
        Assert.Contains("--port", run.Error);
    }

    [Fact]
    public async Task Serve_PortInUse_AsChildProcess_PrintsOneLineAndNoStackTraceAnywhere()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var run = await CliProcess.RunAsync(new Dictionary<string, string?>(), "serve", "--port", port);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("address already in use", run.Error);
        Assert.DoesNotContain("   at ", run.Output + run.Error);
    }

    [Fact]
    public async Task Serve_BadModelsFolderAndPortInUse_ReportsTheCatalogError()
    {
        // The catalog is read while Kestrel binds; when both fail, the catalog's error is the one reported.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var missing = Path.Combine(Path.GetTempPath(), "serverless-no-such-models-" + Guid.NewGuid().ToString("N"));

        var run = await CliRun.RunAsync(["serve", "--port", port, "--models", missing]);

        Assert.Equal(ExitCodes.For(Serverless.Core.Errors.ErrorCode.InvalidInput), run.ExitCode);
        Assert.Contains(missing, run.Error);
        Assert.DoesNotContain("Cannot listen", run.Error);
        Assert.DoesNotContain("Listening on", run.Output);
    }

    [Fact]
    public async Task Serve_BadModelsFolder_FreePort_FailsBeforeListeningAndFreesThePort()
    {
        var missing = Path.Combine(Path.GetTempPath(), "serverless-no-such-models-" + Guid.NewGuid().ToString("N"));
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();

            var run = await CliRun.RunAsync(["serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--models", missing]);

            Assert.NotEqual(0, run.ExitCode);
            Assert.DoesNotContain("Listening on", run.Output);

            // Kestrel may have bound while the catalog was read; the failed start must have let the port go.
            using var again = new TcpListener(IPAddress.Loopback, port);
            again.Start();
        }
    }

    [Fact]
    public async Task Serve_HostThatIsNotAnAddress_ExitsWithCode2()
    {
        var run = await CliRun.RunAsync(["serve", "--host", "not an address", "--port", "0", .. CliRun.RepoModels]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("not an IP address", run.Error);
    }
}
