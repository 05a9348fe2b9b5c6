using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Serverless.Bench.Driver;

/// <summary>What the figures were measured on, read from /proc and the tools themselves.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Memory, string Os, string DotNet, string Node)
{
    public static MachineInfo Read(string nodePath)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var memory = $"{long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0:F1} GiB";
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? RuntimeInformation.OSDescription
            : RuntimeInformation.OSDescription;
        os += $", kernel {Environment.OSVersion.Version}";
        return new MachineInfo(cpu, Environment.ProcessorCount, memory, os, RuntimeInformation.FrameworkDescription, Run(nodePath, "--version"));
    }

    /// <summary>The 1, 5 and 15 minute load averages, as /proc/loadavg has them.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static string Run(string file, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, argument) { RedirectStandardOutput = true, UseShellExecute = false })!;
            var text = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not found";
        }
    }
}
