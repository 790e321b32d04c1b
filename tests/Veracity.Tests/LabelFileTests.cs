using Veracity.Data;

namespace Veracity.Tests;

public class LabelFileTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string Write(string content) => _dir.File($"labels-{Guid.NewGuid():N}.txt", content);

    static LabelFileException Fails(string path) => Assert.Throws<LabelFileException>(() => LabelFile.ReadLabels(path));

    [Fact]
    public void Reads_rows_in_order_with_their_lines()
    {
        var rows = LabelFile.ReadLabels(Write("img_name,target\na.jpg,1\nreal/b.jpg,0\n"));
        Assert.Equal([new LabelRow("a.jpg", 1, 2), new LabelRow("real/b.jpg", 0, 3)], rows);
    }

    [Fact]
    public void Tolerates_bom_crlf_spaces_and_trailing_blank_lines()
    {
        string path = _dir.File("bom.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "img_name , target\r\n  a.jpg , 1 \r\nb.jpg,0\r\n\r\n\r\n"u8]);
        var rows = LabelFile.ReadLabels(path);
        Assert.Equal(["a.jpg", "b.jpg"], rows.Select(r => r.Name));
        Assert.Equal([1, 0], rows.Select(r => r.Target));
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var error = Fails(Path.Combine(_dir.Path, "nope.txt"));
        Assert.Contains("nope.txt", error.Message);
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void Empty_file_is_refused() => Assert.Contains("empty", Fails(Write("")).Message);

    [Fact]
    public void Header_without_rows_is_refused() => Assert.Contains("no rows", Fails(Write("img_name,target\n")).Message);

    [Theory]
    [InlineData("name,label\na.jpg,1\n")]
    [InlineData("a.jpg,1\nb.jpg,0\n")]
    [InlineData("img_name\na.jpg\n")]
    public void Wrong_or_missing_header_is_refused(string content)
    {
        var error = Fails(Write(content));
        Assert.Equal(1, error.Line);
        Assert.Contains("header must be 'img_name,target'", error.Message);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("0.5")]
    [InlineData("yes")]
    [InlineData("")]
    public void Target_other_than_0_or_1_is_refused_with_its_line(string target)
    {
        var error = Fails(Write($"img_name,target\na.jpg,1\nb.jpg,{target}\n"));
        Assert.Equal(3, error.Line);
        Assert.Contains("line 3", error.Message);
        Assert.Contains("target must be 0 (real) or 1 (deepfake)", error.Message);
    }

    [Fact]
    public void Duplicate_name_names_both_lines()
    {
        var error = Fails(Write("img_name,target\na.jpg,1\nb.jpg,0\na.jpg,0\n"));
        Assert.Equal(4, error.Line);
        Assert.Contains("duplicate img_name 'a.jpg' (first on line 2)", error.Message);
    }

    [Theory]
    [InlineData("../secret.jpg", "'..'")]
    [InlineData("real/../../secret.jpg", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("\\\\server\\share\\a.jpg", "absolute")]
    [InlineData("C:/images/a.jpg", "absolute")]
    public void Names_that_leave_the_image_folder_are_refused(string name, string reason)
    {
        var error = Fails(Write($"img_name,target\nok.jpg,0\n{name},1\n"));
        Assert.Equal(3, error.Line);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Resolve_keeps_paths_inside_the_root()
    {
        string root = Path.Combine(_dir.Path, "images");
        Assert.Equal(Path.Combine(root, "real", "a.jpg"), ImagePaths.Resolve(root, "real/a.jpg"));
        Assert.Throws<VeracityException>(() => ImagePaths.Resolve(root, "../images2/a.jpg"));
        Assert.Throws<VeracityException>(() => ImagePaths.Resolve(root, "/tmp/a.jpg"));
    }

    [Fact]
    public void Name_lists_and_predictions_are_read_and_checked()
    {
        Assert.Equal(["a.jpg", "b.jpg"], LabelFile.ReadNames(Write("img_name\na.jpg\nb.jpg\n")));
        var predictions = LabelFile.ReadPredictions(Write("img_name,y_pred\na.jpg,0.25\nb.jpg,1e-3\n"));
        Assert.Equal([0.25, 0.001], predictions.Select(p => p.Score));

        var error = Assert.Throws<LabelFileException>(() => LabelFile.ReadPredictions(Write("img_name,y_pred\na.jpg,1.5\n")));
        Assert.Contains("line 2", error.Message);
        Assert.Contains("probability", error.Message);
    }

    [Fact]
    public void Written_labels_read_back_the_same_even_with_commas_in_names()
    {
        string path = Path.Combine(_dir.Path, "out", "labels.txt");
        CsvFiles.WriteLabels(path, [("a,b.jpg", 1), ("c.jpg", 0)]);
        Assert.Equal([("a,b.jpg", 1), ("c.jpg", 0)], LabelFile.ReadLabels(path).Select(r => (r.Name, r.Target)));
    }
}
