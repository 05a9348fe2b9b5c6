namespace Serverless.Quantization.Evaluation;

/// <summary>An axis-aligned box in pixels, right and bottom exclusive.</summary>
public readonly record struct Box(int Left, int Top, int Right, int Bottom)
{
    public long Area => (long)Math.Max(0, Right - Left) * Math.Max(0, Bottom - Top);

    public double IoU(Box other)
    {
        var w = Math.Min(Right, other.Right) - Math.Max(Left, other.Left);
        var h = Math.Min(Bottom, other.Bottom) - Math.Max(Top, other.Top);
        if (w <= 0 || h <= 0)
        {
            return 0;
        }

        var inter = (long)w * h;
        return (double)inter / (Area + other.Area - inter);
    }
}

/// <summary>
/// DBNet post-processing reduced to what the accuracy comparison needs: threshold the probability map,
/// take 4-connected components as text regions, grow each by DBNet's unclip distance, and match boxes
/// between two maps by best IoU.
/// </summary>
public static class TextBoxes
{
    /// <summary>PaddleOCR's default det_db_unclip_ratio.</summary>
    public const double UnclipRatio = 1.5;

    /// <summary>
    /// The box PaddleOCR reports for a region: DBNet predicts a shrunk text kernel, and its post-processing
    /// grows the region by area * ratio / perimeter on every side (pyclipper offset; for an axis-aligned
    /// box the offset polygon's bounds are exactly that), clamped to the image. Comparing the shrunk
    /// kernels instead would charge a one-pixel edge shift on a 10-pixel-high line as a 10% IoU loss,
    /// which no user of the boxes would see.
    /// </summary>
    public static Box Unclip(Box box, int width, int height, double ratio = UnclipRatio)
    {
        int w = box.Right - box.Left, h = box.Bottom - box.Top;
        if (w <= 0 || h <= 0)
        {
            return box;
        }

        var d = (int)Math.Round(w * (double)h * ratio / (2.0 * (w + h)), MidpointRounding.ToEven);
        return new Box(Math.Max(0, box.Left - d), Math.Max(0, box.Top - d), Math.Min(width, box.Right + d), Math.Min(height, box.Bottom + d));
    }

    /// <summary><see cref="Find"/> then <see cref="Unclip"/>: the text boxes DBNet's post-processing reports.</summary>
    public static List<Box> FindUnclipped(ReadOnlySpan<float> map, int width, int height, float threshold = 0.3f, double ratio = UnclipRatio)
    {
        var boxes = Find(map, width, height, threshold);
        for (var i = 0; i < boxes.Count; i++)
        {
            boxes[i] = Unclip(boxes[i], width, height, ratio);
        }

        return boxes;
    }

    /// <summary>Bounding boxes of the 4-connected regions where <paramref name="map"/> exceeds <paramref name="threshold"/>; regions under <paramref name="minPixels"/> are noise.</summary>
    public static List<Box> Find(ReadOnlySpan<float> map, int width, int height, float threshold = 0.3f, int minPixels = 4)
    {
        var boxes = new List<Box>();
        var label = new bool[width * height];
        var stack = new Stack<int>();
        for (var start = 0; start < width * height; start++)
        {
            if (label[start] || map[start] <= threshold)
            {
                continue;
            }

            int left = int.MaxValue, top = int.MaxValue, right = -1, bottom = -1, pixels = 0;
            label[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                int x = p % width, y = p / width;
                pixels++;
                left = Math.Min(left, x);
                right = Math.Max(right, x);
                top = Math.Min(top, y);
                bottom = Math.Max(bottom, y);
                Visit(map, label, stack, x - 1, y, width, height, threshold);
                Visit(map, label, stack, x + 1, y, width, height, threshold);
                Visit(map, label, stack, x, y - 1, width, height, threshold);
                Visit(map, label, stack, x, y + 1, width, height, threshold);
            }

            if (pixels >= minPixels)
            {
                boxes.Add(new Box(left, top, right + 1, bottom + 1));
            }
        }

        return boxes;
    }

    /// <summary>
    /// Mean IoU of each reference box with its best match among <paramref name="candidates"/> (0 when a box
    /// has no overlap at all), so missed and split boxes both lower the score. 1 when both sets are empty.
    /// </summary>
    public static double MeanBestIoU(IReadOnlyList<Box> reference, IReadOnlyList<Box> candidates)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidates);
        if (reference.Count == 0)
        {
            return candidates.Count == 0 ? 1 : 0;
        }

        double sum = 0;
        foreach (var r in reference)
        {
            double best = 0;
            foreach (var c in candidates)
            {
                best = Math.Max(best, r.IoU(c));
            }

            sum += best;
        }

        return sum / reference.Count;
    }

    private static void Visit(ReadOnlySpan<float> map, bool[] label, Stack<int> stack, int x, int y, int width, int height, float threshold)
    {
        if (x < 0 || y < 0 || x >= width || y >= height)
        {
            return;
        }

        var p = (y * width) + x;
        if (!label[p] && map[p] > threshold)
        {
            label[p] = true;
            stack.Push(p);
        }
    }
}
