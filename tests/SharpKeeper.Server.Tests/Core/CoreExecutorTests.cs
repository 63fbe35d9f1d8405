using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

public sealed class CoreExecutorTests
{
    private sealed record Numbered(int Poster, int Sequence) : CoreMessage;

    [Fact]
    public void NothingRunsBeforeStartAndQueuedMessagesRunThenInOrder()
    {
        var handled = new List<int>();
        var executor = new CoreExecutor(m => handled.Add(((Numbered)m).Sequence), () => { });
        executor.Post(new Numbered(0, 1));
        executor.Queue(new Numbered(0, 2));
        executor.RunQueued();
        Assert.Empty(handled);

        executor.Start();
        WaitUntil(() => handled.Count == 2 && !executor.IsRunning);
        Assert.Equal([1, 2], handled);
    }

    [Fact]
    public void APostRunsOnThePostingThreadWhenTheCoreIsFree()
    {
        var threads = new List<int>();
        var executor = new CoreExecutor(_ => threads.Add(Environment.CurrentManagedThreadId), () => { });
        executor.Start();
        WaitUntil(() => !executor.IsRunning);

        executor.Post(new Numbered(0, 1));
        Assert.Equal([Environment.CurrentManagedThreadId], threads);
    }

    [Fact]
    public void QueuedMessagesRunAsOneBatchOnRunQueued()
    {
        var batches = new List<int>();
        var inBatch = 0;
        var executor = new CoreExecutor(_ => inBatch++, () =>
        {
            batches.Add(inBatch);
            inBatch = 0;
        });
        executor.Start();
        WaitUntil(() => !executor.IsRunning);
        batches.Clear();

        for (var i = 0; i < 5; i++)
        {
            executor.Queue(new Numbered(0, i));
        }

        Assert.Empty(batches);
        executor.RunQueued();
        Assert.Equal([5], batches);
    }

    [Fact]
    public async Task PostsFromManyThreadsAreHandledOneAtATimeInEachPostersOrder()
    {
        const int posters = 4;
        const int perPoster = 5_000;
        var running = 0;
        var overlaps = 0;
        var last = new int[posters];
        var outOfOrder = 0;
        var handled = 0;
        var executor = new CoreExecutor(m =>
        {
            if (Interlocked.Increment(ref running) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            var (poster, sequence) = (Numbered)m;
            if (sequence != last[poster] + 1)
            {
                outOfOrder++;
            }

            last[poster] = sequence;
            handled++;
            Interlocked.Decrement(ref running);
        }, () => { });
        executor.Start();

        await Task.WhenAll(Enumerable.Range(0, posters).Select(poster => Task.Run(() =>
        {
            for (var sequence = 1; sequence <= perPoster; sequence++)
            {
                executor.Post(new Numbered(poster, sequence));
            }
        })));

        WaitUntil(() => Volatile.Read(ref handled) == posters * perPoster && !executor.IsRunning);
        Assert.Equal(0, overlaps);
        Assert.Equal(0, outOfOrder);
        Assert.All(last, sequence => Assert.Equal(perPoster, sequence));
    }

    [Fact]
    public void ARunThatKeepsFindingWorkHandsItToThePoolAndThePosterReturns()
    {
        // Every batch's end queues one more message (a snapshot taken a slice per batch): the posting
        // thread runs a few batches, then the pool carries on while the poster goes back to its work.
        var executor = default(CoreExecutor);
        var remaining = 50;
        var onPoster = 0;
        var poster = Environment.CurrentManagedThreadId;
        executor = new CoreExecutor(_ =>
        {
            if (Environment.CurrentManagedThreadId == poster)
            {
                onPoster++;
            }

            Interlocked.Decrement(ref remaining);
        }, () =>
        {
            if (Volatile.Read(ref remaining) > 0)
            {
                executor!.Queue(new Numbered(0, remaining));
            }
        });
        executor.Start();
        WaitUntil(() => !executor.IsRunning);

        executor.Post(new Numbered(0, 0));
        Assert.InRange(onPoster, 1, 4);
        WaitUntil(() => Volatile.Read(ref remaining) == 0 && !executor.IsRunning);
    }

    [Fact]
    public void InBackgroundNeverRunsOnThePostingThread()
    {
        var threads = new List<int>();
        var executor = new CoreExecutor(_ => threads.Add(Environment.CurrentManagedThreadId), () => { });
        executor.Start();
        WaitUntil(() => !executor.IsRunning);

        executor.PostInBackground(new Numbered(0, 1));
        WaitUntil(() => threads.Count == 1 && !executor.IsRunning);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads[0]);
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            Thread.Yield();
        }
    }
}
