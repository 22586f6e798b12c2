"""The questionnaire's own words in English, French and Spanish: sheet names, headers, choices, instructions.

The framework file (:mod:`pmm_lib.inputs.framework`) carries the translations of the content
(dimension, outcome and KPI names, definitions, unit labels, reference period); this module
carries the translations of the questionnaire's furniture. The writer uses one language; the
reader accepts the words of every language, so a French questionnaire filled in is read exactly
like the English one.

Words a Member chooses (disclosure, "if no value", validation status) are matched after
folding case, accents, hyphens and spaces (``Auto-évaluée`` = ``auto evaluee``).

Examples
--------
>>> label("col.value", "fr")
'Valeur'
>>> choice("disclosure", "Restreint")
'restricted'
>>> choice("validation", "revisado por pares")
'peer_reviewed'
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "CHOICES",
    "COLUMNS",
    "INSTRUCTIONS",
    "LABELS",
    "LANGUAGES",
    "REQUIRED_COLUMNS",
    "RESPONDENT_FIELDS",
    "STAMP_PREFIX",
    "choice",
    "choice_labels",
    "fold",
    "header_field",
    "label",
]

LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
#: The identity written into every sheet of a generated questionnaire (a hidden cell, see questionnaire.py).
STAMP_PREFIX = "pmm-questionnaire"

#: Dimension sheet columns, in order: field name -> label per language.
COLUMNS: dict[str, dict[str, str]] = {
    "kpi": {"en": "KPI code", "fr": "Code de l'indicateur", "es": "Código del indicador"},
    "name": {"en": "KPI name", "fr": "Nom de l'indicateur", "es": "Nombre del indicador"},
    "outcome": {"en": "Expected outcome", "fr": "Résultat attendu", "es": "Resultado esperado"},
    "definition": {"en": "Definition", "fr": "Définition", "es": "Definición"},
    "unit": {"en": "Unit", "fr": "Unité", "es": "Unidad"},
    "period": {"en": "Reference period", "fr": "Période de référence", "es": "Período de referencia"},
    "range": {"en": "Allowed range", "fr": "Plage admise", "es": "Rango admitido"},
    "optional": {"en": "May skip", "fr": "Facultatif", "es": "Opcional"},
    "value": {"en": "Value", "fr": "Valeur", "es": "Valor"},
    "status": {"en": "If no value", "fr": "En l'absence de valeur", "es": "Si no hay valor"},
    "disclosure": {"en": "Disclosure", "fr": "Diffusion", "es": "Divulgación"},
    "data_source": {"en": "Data source", "fr": "Source des données", "es": "Fuente de los datos"},
    "validation": {"en": "Validation status", "fr": "Statut de validation", "es": "Estado de validación"},
    "comment": {"en": "Comment", "fr": "Commentaire", "es": "Comentario"},
}
#: Columns a dimension sheet must have (the others are read when present).
REQUIRED_COLUMNS: tuple[str, ...] = ("kpi", "unit", "value", "disclosure")

#: Respondent sheet rows: field -> label per language.
RESPONDENT_FIELDS: dict[str, dict[str, str]] = {
    "member": {"en": "Member (ISO3)", "fr": "Membre (code ISO3)", "es": "Miembro (código ISO3)"},
    "cycle": {"en": "Cycle (year)", "fr": "Cycle (année)", "es": "Ciclo (año)"},
    "contact": {"en": "Contact name", "fr": "Nom de la personne de contact", "es": "Nombre de la persona de contacto"},
    "email": {"en": "Contact e-mail", "fr": "Courriel de la personne de contact",
              "es": "Correo electrónico de la persona de contacto"},
    "framework": {"en": "Framework version", "fr": "Version du cadre", "es": "Versión del marco"},
    "language": {"en": "Language", "fr": "Langue", "es": "Idioma"},
}

LABELS: dict[str, dict[str, str]] = {
    "sheet.instructions": {"en": "Instructions", "fr": "Instructions", "es": "Instrucciones"},
    "sheet.respondent": {"en": "Respondent", "fr": "Répondant", "es": "Encuestado"},
    "sheet.summary": {"en": "Completeness", "fr": "Complétude", "es": "Integridad"},
    "title": {"en": "PMM self-assessment questionnaire", "fr": "Questionnaire d'auto-évaluation de la MMP",
              "es": "Cuestionario de autoevaluación del MMD"},
    "respondent.title": {"en": "Respondent", "fr": "Répondant", "es": "Encuestado"},
    "respondent.internal": {
        "en": "The contact details are kept by the WCO methodology team only and never published.",
        "fr": "Les coordonnées ne sont conservées que par l'équipe méthodologique de l'OMD et ne sont jamais publiées.",
        "es": "Los datos de contacto solo los conserva el equipo de metodología de la OMA y nunca se publican."},
    "dimension.hint": {
        "en": "Fill the yellow cells. Value in the unit shown; if there is no value, say why in 'If no value'.",
        "fr": "Remplissez les cellules jaunes. Valeur dans l'unité indiquée ; sans valeur, indiquez pourquoi "
              "dans « En l'absence de valeur ».",
        "es": "Complete las celdas amarillas. Valor en la unidad indicada; si no hay valor, indique el motivo "
              "en «Si no hay valor»."},
    "yes": {"en": "yes", "fr": "oui", "es": "sí"},
    "no": {"en": "no", "fr": "non", "es": "no"},
    "summary.dimension": {"en": "Dimension", "fr": "Dimension", "es": "Dimensión"},
    "summary.kpis": {"en": "KPIs", "fr": "Indicateurs", "es": "Indicadores"},
    "summary.values": {"en": "Values entered", "fr": "Valeurs saisies", "es": "Valores introducidos"},
    "summary.reasons": {"en": "No value, reason given", "fr": "Sans valeur, motif indiqué",
                        "es": "Sin valor, motivo indicado"},
    "summary.open": {"en": "Still open", "fr": "Restant à remplir", "es": "Pendientes"},
    "summary.total": {"en": "Total", "fr": "Total", "es": "Total"},
}

#: Member choices: kind -> code -> accepted words (the first of each language is what the template offers).
CHOICES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "disclosure": {
        "public": {"en": ("public",), "fr": ("public",), "es": ("público", "publico")},
        "wco": {"en": ("wco", "wco-only", "wco only"), "fr": ("OMD", "OMD uniquement"), "es": ("OMA", "solo OMA")},
        "restricted": {"en": ("restricted",), "fr": ("restreint", "restreinte"), "es": ("restringido", "restringida")},
    },
    "status": {
        "not_applicable": {"en": ("not applicable",), "fr": ("sans objet", "non applicable"),
                           "es": ("no aplica", "no aplicable")},
        "not_available": {"en": ("not available",), "fr": ("non disponible",), "es": ("no disponible",)},
    },
    "validation": {
        "self_assessed": {"en": ("self-assessed",), "fr": ("auto-évaluée", "auto-évalué", "autoévaluée"),
                          "es": ("autoevaluado", "autoevaluada", "auto-evaluado")},
        "validated": {"en": ("validated",), "fr": ("validée", "validé"), "es": ("validado", "validada")},
        "peer_reviewed": {"en": ("peer-reviewed",), "fr": ("examinée par les pairs", "évaluée par les pairs"),
                          "es": ("revisado por pares", "revisada por pares")},
    },
}

#: The Instructions sheet, per language. It states the separator and percent rules ingest applies.
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "PMM self-assessment questionnaire",
        "",
        "1. On the 'Respondent' sheet enter your Member's ISO3 code (e.g. SEN), the assessment cycle (year) and a contact.",
        "   The contact details are kept by the WCO methodology team only.",
        "2. On each dimension sheet (TF, RC, ES, OD) enter one value per KPI in 'Value', in the unit shown in 'Unit',",
        "   for the period shown in 'Reference period'. The 'Definition' says what is counted.",
        "3. Numbers: type digits only, with a decimal point or a decimal comma (12.5 or 12,5).",
        "   Do not group thousands: type 1234, not 1,234 or 1.234 (these could mean 1.234).",
        "   A group such as 1,234 or 1.234 that could mean either is rejected with both readings.",
        "4. Percentages are numbers from 0 to 100: 85 means 85 %. Do not type 0.85 for 85 %.",
        "   A value below 1 in a percentage KPI must be typed with the % sign (0.5%) so it cannot be read as a fraction.",
        "   Only KPIs whose unit is % may hold a % sign or a percentage-formatted cell.",
        "5. Counts are whole numbers.",
        "6. 'Allowed range' is the plausible range: values outside it are rejected and must be checked.",
        "7. No value? Leave 'Value' empty and choose 'not applicable' (the KPI does not apply to your administration)",
        "   or 'not available' (it applies but the figure is not known) in 'If no value'. Do not type n/a in 'Value'.",
        "   KPIs marked 'May skip: no' need a value or a reason.",
        "8. 'Disclosure' is your choice of who may see each value: public (anyone), wco (WCO Secretariat and Members),",
        "   restricted (WCO methodology team only). Nothing is pre-filled: a value without a choice is treated as",
        "   restricted and recorded as 'not chosen'.",
        "9. 'Data source' (where the figure comes from) and 'Validation status' (self-assessed, validated by an",
        "   internal or external body, or peer-reviewed) are kept with each value; so is 'Comment'.",
        "10. Type values; do not use formulas or links. Do not rename, copy, hide, move, insert or delete sheets,",
        "   rows or columns; do not merge cells. Save as .xlsx (not .xls or .ods); a password-protected file cannot be read.",
        "11. The 'Completeness' sheet counts what is still open.",
    ),
    "fr": (
        "Questionnaire d'auto-évaluation de la MMP",
        "",
        "1. Dans la feuille « Répondant », saisissez le code ISO3 de votre Membre (p. ex. SEN), le cycle d'évaluation "
        "(année) et une personne de contact.",
        "   Les coordonnées ne sont conservées que par l'équipe méthodologique de l'OMD.",
        "2. Dans chaque feuille de dimension (TF, RC, ES, OD), saisissez une valeur par indicateur dans « Valeur », "
        "dans l'unité indiquée dans « Unité »,",
        "   pour la période indiquée dans « Période de référence ». La « Définition » précise ce qui est compté.",
        "3. Nombres : chiffres uniquement, avec une virgule ou un point décimal (12,5 ou 12.5).",
        "   Ne séparez pas les milliers : tapez 1234, et non 1 234, 1,234 ou 1.234 (qui pourraient signifier 1,234).",
        "   Un groupe comme 1,234 ou 1.234, qui peut se lire des deux façons, est rejeté avec les deux lectures.",
        "4. Les pourcentages sont des nombres de 0 à 100 : 85 signifie 85 %. Ne tapez pas 0,85 pour 85 %.",
        "   Une valeur inférieure à 1 dans un indicateur en % doit être saisie avec le signe % (0,5%) pour ne pas "
        "être lue comme une fraction.",
        "   Seuls les indicateurs dont l'unité est % peuvent contenir un signe % ou une cellule au format pourcentage.",
        "5. Les nombres de cas sont des nombres entiers.",
        "6. La « Plage admise » est la plage plausible : une valeur hors plage est rejetée et doit être vérifiée.",
        "7. Pas de valeur ? Laissez « Valeur » vide et choisissez « sans objet » (l'indicateur ne s'applique pas à "
        "votre administration)",
        "   ou « non disponible » (il s'applique mais le chiffre n'est pas connu) dans « En l'absence de valeur ». "
        "Ne tapez pas n/d dans « Valeur ».",
        "   Les indicateurs « Facultatif : non » exigent une valeur ou un motif.",
        "8. « Diffusion » est votre choix de qui peut voir chaque valeur : public (tous), OMD (Secrétariat et Membres "
        "de l'OMD),",
        "   restreint (équipe méthodologique de l'OMD seulement). Rien n'est prérempli : une valeur sans choix est "
        "traitée comme restreinte et enregistrée comme « non choisie ».",
        "9. La « Source des données » et le « Statut de validation » (auto-évaluée, validée par un organe interne ou "
        "externe, examinée par les pairs) sont conservés avec chaque valeur, de même que le « Commentaire ».",
        "10. Saisissez des valeurs, pas de formules ni de liens. Ne renommez, copiez, masquez, déplacez, insérez ni "
        "supprimez de feuilles, lignes ou colonnes ; ne fusionnez pas de cellules.",
        "   Enregistrez au format .xlsx (pas .xls ni .ods) ; un fichier protégé par mot de passe ne peut pas être lu.",
        "11. La feuille « Complétude » compte ce qui reste à remplir.",
    ),
    "es": (
        "Cuestionario de autoevaluación del MMD",
        "",
        "1. En la hoja «Encuestado» introduzca el código ISO3 de su Miembro (p. ej. SEN), el ciclo de evaluación (año) "
        "y una persona de contacto.",
        "   Los datos de contacto solo los conserva el equipo de metodología de la OMA.",
        "2. En cada hoja de dimensión (TF, RC, ES, OD) introduzca un valor por indicador en «Valor», en la unidad "
        "indicada en «Unidad»,",
        "   para el período indicado en «Período de referencia». La «Definición» indica qué se cuenta.",
        "3. Números: solo cifras, con coma o punto decimal (12,5 o 12.5).",
        "   No separe los miles: escriba 1234, no 1.234 ni 1,234 (que podrían significar 1,234).",
        "   Un grupo como 1.234 o 1,234, que admite las dos lecturas, se rechaza indicando ambas.",
        "4. Los porcentajes son números de 0 a 100: 85 significa 85 %. No escriba 0,85 para 85 %.",
        "   Un valor inferior a 1 en un indicador en % debe escribirse con el signo % (0,5%) para que no se lea "
        "como una fracción.",
        "   Solo los indicadores cuya unidad es % admiten el signo % o una celda con formato de porcentaje.",
        "5. Los recuentos son números enteros.",
        "6. El «Rango admitido» es el rango plausible: un valor fuera de él se rechaza y debe verificarse.",
        "7. ¿No hay valor? Deje «Valor» vacío y elija «no aplica» (el indicador no se aplica a su administración)",
        "   o «no disponible» (se aplica pero no se conoce la cifra) en «Si no hay valor». No escriba n/d en «Valor».",
        "   Los indicadores con «Opcional: no» requieren un valor o un motivo.",
        "8. «Divulgación» es su elección de quién puede ver cada valor: público (todos), OMA (Secretaría y Miembros "
        "de la OMA),",
        "   restringido (solo el equipo de metodología de la OMA). Nada viene rellenado: un valor sin elección se "
        "trata como restringido y se registra como «no elegido».",
        "9. La «Fuente de los datos» y el «Estado de validación» (autoevaluado, validado por un órgano interno o "
        "externo, revisado por pares) se conservan con cada valor, al igual que el «Comentario».",
        "10. Escriba valores, no fórmulas ni vínculos. No cambie el nombre, copie, oculte, mueva, inserte ni elimine "
        "hojas, filas o columnas; no combine celdas.",
        "   Guarde en formato .xlsx (no .xls ni .ods); un archivo protegido con contraseña no se puede leer.",
        "11. La hoja «Integridad» cuenta lo que queda pendiente.",
    ),
}


def fold(text: str) -> str:
    """Case, accents, hyphens, underscores and runs of spaces folded: ``'Auto-Évaluée '`` -> ``'auto evaluee'``."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().replace("-", " ").replace("_", " ").replace("\u00a0", " ").split())


def label(key: str, lang: str = "en") -> str:
    """A label (``col.<field>``, ``respondent.<field>`` or a :data:`LABELS` key) in ``lang``."""
    if key.startswith("col."):
        return COLUMNS[key[4:]][lang]
    if key.startswith("field."):
        return RESPONDENT_FIELDS[key[6:]][lang]
    return LABELS[key][lang]


_HEADERS = {fold(text): f for f, by_lang in COLUMNS.items() for text in by_lang.values()}


def header_field(text: object) -> str | None:
    """The column a header cell names, in any language (None when it names none)."""
    return _HEADERS.get(fold(str(text))) if isinstance(text, str) else None


def choice_labels(kind: str, lang: str = "en") -> list[str]:
    """What the template's drop-down offers for ``kind`` in ``lang``."""
    return [words[lang][0] for words in CHOICES[kind].values()]


_CHOICE_INDEX = {kind: {fold(w): code for code, by_lang in codes.items() for ws in by_lang.values() for w in ws}
                 | {fold(code): code for code in codes}
                 for kind, codes in CHOICES.items()}


def choice(kind: str, text: object) -> str | None:
    """The code of a Member's choice written in any language (None when the words are not a choice)."""
    if not isinstance(text, str):
        return None
    return _CHOICE_INDEX[kind].get(fold(text))
