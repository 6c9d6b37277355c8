using Mesh.Core.Backup.Archiving;

namespace Mesh.Core.Tests.Backup.Archiving;

/// <summary>Replication first: the archivers read freely while replication keeps up and share a floor while it catches up.</summary>
public sealed class BackupReadShareTests
{
    private readonly ManualTime _time = new();

    [Fact]
    public void With_no_replication_backlog_every_read_is_granted_whole()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000);
        Assert.False(share.Yielding);
        Assert.Equal(2000, share.Take(2000));
        Assert.Equal(2000, share.Take(2000));
        Assert.Equal(0, share.Deferred);
    }

    [Fact]
    public void While_replication_has_a_backlog_the_archivers_together_get_the_floor_and_no_more()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000);
        share.ReplicationBehind();
        Assert.True(share.Yielding);
        // Nothing saved up from before the backlog beyond a quarter second's worth.
        _time.Advance(TimeSpan.FromSeconds(10));
        share.ReplicationBehind();
        Assert.Equal(250, share.Take(2000));
        Assert.Equal(0, share.Take(2000));

        // Over the next second, with replication still behind, two archivers between them read the floor.
        var read = 0;
        for (var tick = 0; tick < 10; tick++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            share.ReplicationBehind();
            read += share.Take(2000) + share.Take(2000);
        }
        Assert.Equal(1000, read);
        Assert.True(share.Deferred >= 20);
    }

    [Fact]
    public void Records_granted_and_not_read_go_back_to_the_others()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000);
        _time.Advance(TimeSpan.FromSeconds(1));
        share.ReplicationBehind();
        var granted = share.Take(2000);
        Assert.Equal(250, granted);
        share.Return(granted - 40); // the reader had 40
        Assert.Equal(210, share.Take(2000));
    }

    [Fact]
    public void The_archivers_read_freely_again_a_backlog_window_after_the_last_full_drain()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000);
        share.ReplicationBehind();
        _time.Advance(BackupReadShare.BacklogWindow - TimeSpan.FromMilliseconds(1));
        Assert.True(share.Yielding);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(share.Yielding);
        Assert.Equal(5000, share.Take(5000));
    }

    [Fact]
    public void A_silo_that_just_started_yields_for_its_grace_before_any_replicator_has_spoken_and_longer_if_one_does()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000, startGrace: TimeSpan.FromSeconds(5));
        Assert.True(share.Yielding);
        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        Assert.True(share.Yielding);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(share.Yielding);
        Assert.Equal(5000, share.Take(5000));

        var behind = new BackupReadShare(_time, floorPerSecond: 1000, startGrace: TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(4.5));
        behind.ReplicationBehind();
        _time.Advance(TimeSpan.FromSeconds(0.9));
        Assert.True(behind.Yielding);
        Assert.False(new BackupReadShare(_time).Yielding);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackupReadShare(_time, startGrace: TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackupReadShare(_time, floorPerSecond: 0));
        var share = new BackupReadShare(_time);
        Assert.Throws<ArgumentOutOfRangeException>(() => share.Take(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => share.Return(-1));
    }

    [Fact]
    public void The_reader_holds_off_while_the_archivers_yield_except_for_a_window_each_second()
    {
        var share = new BackupReadShare(_time, floorPerSecond: 1000);
        Assert.False(share.HoldReader);
        var fetching = 0;
        for (var tick = 0; tick < 100; tick++)
        {
            share.ReplicationBehind();
            if (!share.HoldReader) fetching++;
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }
        // A tenth of one second's ticks: the floor stays fed, the rest stays in Kafka.
        Assert.Equal(10, fetching);
        _time.Advance(BackupReadShare.BacklogWindow);
        Assert.False(share.HoldReader);
    }
}
