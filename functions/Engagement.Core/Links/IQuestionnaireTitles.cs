namespace Engagement.Links;

/// <summary>
/// The title of a linked Questionnaire, in the patient's language where known. The questionnaire store implements
/// this; until one is registered, <see cref="NoQuestionnaireTitles"/> makes the page show a generic title.
/// </summary>
public interface IQuestionnaireTitles
{
    ValueTask<string?> FindTitleAsync(string canonical, string language, CancellationToken cancellationToken);
}

public sealed class NoQuestionnaireTitles : IQuestionnaireTitles
{
    public ValueTask<string?> FindTitleAsync(string canonical, string language, CancellationToken cancellationToken) =>
        ValueTask.FromResult<string?>(null);
}
