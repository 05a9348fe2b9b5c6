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
    public async Task Serve_HttpServerOption_WarnsThatItHasNoEffectAndServesOnKestrel()
    {
        var serve = await ServeProcess.StartAsync("--http-server", "sockets");
        await using (serve)
        {
            using var client = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            using var live = await client.GetAsync("/v2/health/live");

            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Contains("Warning: --http-server is no longer used: serve always runs on Kestrel. Drop the option.", serve.Output);
        }
    }

    [Fact]
    public async Task Serve_HttpServerVariable_WarnsNamingItAndServes()
    {
        var serve = await ServeProcess.StartAsync(new Dictionary<string, string?> { [ServeCommand.HttpServerVariable] = "sockets" }, null);
        await using (serve)
        {
            using var client = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            using var live = await client.GetAsync("/v2/health/live");

            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Contains("Warning: SERVERLESS_HTTP_SERVER is no longer used", serve.Output);
            Assert.Equal(1, serve.Output.Split('\n').Count(line => line.StartsWith("Warning:", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void WarnIfHttpServerChosen_NeitherOptionNorVariable_WritesNothing()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        ServeCommand.WarnIfHttpServerChosen(new CliConsole(output, error, isTerminal: false), optionGiven: false, variable: " ");
        Assert.Equal(string.Empty, error.ToString() + output.ToString());
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
