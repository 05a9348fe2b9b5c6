using System.CommandLine;
using System.Text.Json;

namespace Serverless.Quantization.Tool;

/// <summary>
/// Hidden `compare`: applies the report's accuracy metric to two files written by `measure`, so a
/// recipe can be tried (quantize, measure, compare) without rerunning the whole report.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Required = true };
        var reference = new Option<string>("--reference") { Required = true, Description = "measure output of the fp32 model." };
        var candidate = new Option<string>("--candidate") { Required = true, Description = "measure output of the int8 model." };
        var documents = new Option<string?>("--documents") { Description = "text-recognition: the realistic document lines both measurements read (their printed text is the truth)." };
        var verbose = new Option<bool>("--verbose") { Description = "text-detection: list the boxes of pages whose IoU is below 0.95." };
        var command = new Command("compare", "Compare two measure outputs with the report's accuracy metric.") { preset, reference, candidate, verbose, documents };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            var a = JsonSerializer.Deserialize<Measurement>(File.ReadAllText(parse.GetValue(reference)!))!;
            var b = JsonSerializer.Deserialize<Measurement>(File.ReadAllText(parse.GetValue(candidate)!))!;
            var (text, met) = ReportCommand.Compare(Recipe.Find(parse.GetValue(preset)!), a, b, ReportCommand.DocumentTruth(parse.GetValue(documents)));
            if (parse.GetValue(verbose))
            {
                for (var i = 0; i < a.Outputs.Count; i++)
                {
                    var side = (int)Math.Sqrt(a.Outputs[i].Length);
                    var r = Evaluation.TextBoxes.FindUnclipped(a.Outputs[i], side, side);
                    var c = Evaluation.TextBoxes.FindUnclipped(b.Outputs[i], side, side);
                    var iou = Evaluation.TextBoxes.MeanBestIoU(r, c);
                    if (iou < 0.95)
                    {
                        Console.WriteLine($"page {i}: IoU {iou:F3}\n  fp32 {string.Join(" ", r)}\n  int8 {string.Join(" ", c)}");
                    }
                }
            }

            Console.WriteLine($"{text}; {(met ? "meets" : "misses")} the bar; warm p50 {a.WarmP50Ms:F2} / {b.WarmP50Ms:F2} ms");
            return met ? 0 : 1;
        });
        return command;
    }
}
