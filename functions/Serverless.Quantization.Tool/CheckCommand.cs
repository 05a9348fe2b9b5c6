using System.CommandLine;
using Serverless.Quantization.Calibration;

namespace Serverless.Quantization.Tool;

/// <summary>
/// `check --store DIR --data DIR --model NAME [--int8 FILE]`: runs fp32 (NAME/1) and an int8 build (NAME/2 by default)
/// over the evaluation set in this process and applies the model's accuracy bar, the one the report's verdict uses.
/// Setup runs it when an int8 artifact built here differs in bytes from the recorded reference: the build is accepted
/// by its accuracy, not by its hash. One process and no timing, so it also runs under an emulated CPU (qemu-user).
/// Exit 0 when the bar is met, 1 when it is missed.
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store") { Required = true, Description = "Model store holding NAME/1/model.onnx (and NAME/2/model.onnx)." };
        var data = new Option<string>("--data") { Required = true, Description = "Output folder of scripts/calibration/generate.sh (evaluation/) and documents.sh (documents/)." };
        var model = new Option<string>("--model") { Required = true, Description = "Model name with a recipe: text-direction, text-detection, text-recognition, voice-activity." };
        var int8 = new Option<string?>("--int8") { Description = "The int8 file to check (default: NAME/2/model.onnx in the store)." };
        var dictionary = new Option<string?>("--dictionary") { Description = "ppocr_keys_v1.txt (text-recognition)." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "ORT intra-op threads." };
        var command = new Command("check", "Check an int8 build against fp32 with the model's accuracy bar.") { store, data, model, int8, dictionary, threads };
        command.SetAction(parse =>
        {
            var recipe = Recipe.Find(parse.GetValue(model)!);
            var root = parse.GetValue(store)!;
            var set = parse.GetValue(data)!;
            var fp32Path = Path.Combine(root, recipe.Name, "1", "model.onnx");
            var int8Path = parse.GetValue(int8) ?? Path.Combine(root, recipe.Name, "2", "model.onnx");
            var recognition = recipe.Preset == Preset.TextRecognition;
            var dict = recognition ? parse.GetValue(dictionary) ?? throw new ArgumentException("text-recognition needs --dictionary ppocr_keys_v1.txt.") : null;
            var documents = recognition ? Path.Combine(set, "documents") : null;
            var evaluation = Path.Combine(set, "evaluation");
            var n = parse.GetValue(threads);
            var fp32 = MeasureCommand.Measure(fp32Path, recipe.Preset, evaluation, dict, 1, false, n, documents);
            var candidate = MeasureCommand.Measure(int8Path, recipe.Preset, evaluation, dict, 1, false, n, documents);
            var (text, met) = ReportCommand.Compare(recipe, fp32, candidate, ReportCommand.DocumentTruth(documents));
            Console.WriteLine($"{recipe.Name}: {text}; {(met ? "meets" : "misses")} the bar");
            return met ? 0 : 1;
        });
        return command;
    }
}
