namespace Engagement.Links;

/// <summary>
/// The title of a linked Questionnaire, in the patient's language where known (null: the page shows a generic
/// title). <see cref="DefinitionQuestionnaireTitles"/> reads the definitions catalog.
/// </summary>
public interface IQuestionnaireTitles
{
    ValueTask<string?> FindTitleAsync(string canonical, string language, CancellationToken cancellationToken);
}
