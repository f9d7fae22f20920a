// What a client remembers between runs about one account on one server: the highest message id it
// has shown. Kept per server key and account id, so a reset database (ids start again at 1, the
// name registered anew) or another server on the same host:port starts from nothing instead of
// having its new messages taken for already-seen ones and acknowledged unseen.
namespace Parley.Client;

public static class SavedState
{
    /// <summary>
    /// Loads and saves <see cref="ChatClient.LastSeenId"/> in <paramref name="home"/> for the server key
    /// this client is connected to and the account id the login returns. A server that sends no
    /// usable account id gets no saved state: every message is shown (a crash may repeat one), none
    /// is acknowledged unseen.
    /// </summary>
    public static void BindSavedState(this ChatClient client, ParleyHome home, string user)
    {
        string server = client.ServerIdentity.Fingerprint;
        client.LoggedIn = login =>
        {
            if (ParleyHome.IsUsableAccountId(login.AccountId))
            {
                string account = login.AccountId!;
                client.LastSeenId = home.ReadLastSeen(server, user, account);
                client.SaveLastSeen = id => home.WriteLastSeen(server, user, account, id);
            }
            else
            {
                client.LastSeenId = 0;
                client.SaveLastSeen = null;
            }
        };
    }
}
