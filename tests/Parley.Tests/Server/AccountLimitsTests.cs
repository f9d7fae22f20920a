using Parley.Server.Accounts;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>The building blocks of registration rationing and PBKDF2 scheduling.</summary>
public class AccountLimitsTests
{
    [Fact]
    public async Task Waiting_logins_get_free_slots_before_any_waiting_registration()
    {
        PriorityGate gate = new(slots: 1);
        await gate.WaitAsync(HashPriority.Registration, CancellationToken.None);
        List<string> order = [];
        List<Task> waiters = [];
        for (int i = 0; i < 50; i++)
        {
            string name = $"registration {i}";
            waiters.Add(gate.WaitAsync(HashPriority.Registration, CancellationToken.None).ContinueWith(_ => { lock (order) { order.Add(name); } }, TaskScheduler.Default));
        }
        Task login = gate.WaitAsync(HashPriority.Login, CancellationToken.None);
        Assert.Equal(50, gate.WaitingRegistrations);
        Assert.Equal(1, gate.WaitingLogins);

        gate.Release();
        await login.WithTimeout();
        Assert.Empty(order);
        Assert.Equal(50, gate.WaitingRegistrations);
        // Then the registrations, one slot at a time, first come first served.
        for (int i = 0; i < 50; i++)
        {
            gate.Release();
        }
        await Task.WhenAll(waiters).WithTimeout();
        Assert.Equal(50, order.Count);
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_the_queue_and_takes_no_slot()
    {
        PriorityGate gate = new(slots: 1);
        await gate.WaitAsync(HashPriority.Login, CancellationToken.None);
        using CancellationTokenSource cancel = new();
        Task abandoned = gate.WaitAsync(HashPriority.Registration, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WithTimeout());
        Assert.Equal(0, gate.WaitingRegistrations);
        gate.Release();
        await gate.WaitAsync(HashPriority.Registration, CancellationToken.None).WithTimeout();
    }

    [Fact]
    public void Registrations_are_limited_per_source_and_server_wide()
    {
        ManualClock time = new();
        RegistrationLimiter limiter = new(time, perSourcePerHour: 2, perMinute: 3);
        Assert.True(limiter.TryTake("203.0.113.1", out _));
        Assert.True(limiter.TryTake("203.0.113.1", out _));
        Assert.False(limiter.TryTake("203.0.113.1", out TimeSpan sourceWait));
        Assert.Equal(TimeSpan.FromHours(1), sourceWait);
        // Rotating sources runs into the server-wide limit.
        Assert.True(limiter.TryTake("203.0.113.2", out _));
        Assert.False(limiter.TryTake("203.0.113.3", out TimeSpan globalWait));
        Assert.Equal(TimeSpan.FromMinutes(1), globalWait);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.TryTake("203.0.113.3", out _));
        Assert.False(limiter.TryTake("203.0.113.1", out _));
    }

    [Fact]
    public void New_passwords_must_be_long_enough_and_not_common()
    {
        Assert.True(PasswordPolicy.CommonCount >= 300, $"only {PasswordPolicy.CommonCount} common passwords");
        Assert.NotNull(PasswordPolicy.RejectForNewAccount("seven77"));
        Assert.NotNull(PasswordPolicy.RejectForNewAccount("password"));
        Assert.NotNull(PasswordPolicy.RejectForNewAccount("QWERTY123"));
        Assert.NotNull(PasswordPolicy.RejectForNewAccount("iloveyou"));
        Assert.Null(PasswordPolicy.RejectForNewAccount("eight ch"));
        Assert.Null(PasswordPolicy.RejectForNewAccount("correct horse"));
    }
}
