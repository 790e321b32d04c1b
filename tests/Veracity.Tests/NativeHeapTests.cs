using Veracity;

namespace Veracity.Tests;

public class NativeHeapTests
{
    [Fact]
    public void GlibcAcceptsTheFixedMmapThreshold()
    {
        Assert.True(OperatingSystem.IsLinux(), "these tests run on Linux");
        Assert.True(NativeHeap.LimitFragmentation());
    }
}
