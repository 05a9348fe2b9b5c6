using System.Diagnostics;
using System.Text;
using Serverless.Tests.Shared;

namespace Serverless.Gpu.Tests.Fixtures;

/// <summary>
/// Runs <c>serverless-gpu</c> as its own process (from this test's output, where the build copied it with the GPU
/// package's natives) on a free loopback port: what a container runs, with its exit code, its stderr and its own
/// thread pool. <see cref="OrtGpuLibrary"/> is the GPU build of libonnxruntime.so, which on a machine without the
/// CUDA 13 libraries cannot add the CUDA provider.
/// </summary>
internal sealed class GpuServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private GpuServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            lock (_stdout)
            {
                _stdout.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public static string OrtGpuLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");

    public int Port { get; }

    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits until stdout or stderr (the console logger writes on its own thread) holds <paramref name="text"/>.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string seen;
            lock (_stdout)
            {
                seen = _stdout.ToString();
            }

            if (seen.Contains(text, StringComparison.Ordinal) || StandardError.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Starts the server with the repository's models and store, the given settings on top.</summary>
    public static GpuServerProcess Start(IReadOnlyDictionary<string, string?> settings)
    {
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", Path.Combine(AppContext.BaseDirectory, "serverless-gpu.dll"), "--urls", $"http://127.0.0.1:{port}" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var name in new[] { "GPU_REQUIRED", "GPU_PREFER_CUDA", "MODEL_PRELOAD", "ASPNETCORE_URLS", "PORT", "OTEL_EXPORTER_OTLP_ENDPOINT" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["MODEL_STORE"] = RepoPaths.ModelStore;
        start.Environment["SERVERLESS_MODELS_DIR"] = RepoPaths.Models;
        start.Environment["MODEL_CACHE_DIR"] = Path.Combine(Path.GetTempPath(), "serverless-gpu-process-tests-cache");
        start.Environment["MODEL_NAMES"] = "text-direction";
        start.Environment["SERVERLESS_ORT_LIBRARY"] = OrtGpuLibrary;
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        return new GpuServerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."), port);
    }

    /// <summary>Waits until the server accepts connections; false when it exited first or the time ran out.</summary>
    public Task<bool> WaitUntilListeningAsync(TimeSpan timeout) => LoopbackPort.WaitUntilAcceptingAsync(Port, timeout, () => _process.HasExited);

    /// <summary>The exit code once the process has exited, or null if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
