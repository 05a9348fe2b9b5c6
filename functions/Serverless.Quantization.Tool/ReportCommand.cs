using System.CommandLine;

namespace Serverless.Quantization.Tool;

internal static class ReportCommand
{
    public static Command Create() => new("report", "Write models/QUANTIZATION.md.");
}
