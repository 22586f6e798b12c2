"""The workshop's string catalogue: every text of the participants' app and the dashboard in
English, French and Spanish.

One catalogue, one lookup: :func:`t` returns the string for a key in a language, formatted
with keyword arguments; a key missing in a language falls back to English, and an unknown
key raises (so a typo cannot ship silently). ``tests/test_workshop_i18n.py`` checks that
every key has all three languages with the same placeholders.

Examples
--------
>>> t("remaining", "fr", n=10)
'Reste à répartir : 10 points'
>>> t("remaining", "es", n=0)
'Por repartir: 0 puntos'
"""

from __future__ import annotations

import string
from typing import Literal

from pmm_lib.errors import SpecError

__all__ = ["CATALOGUE", "LANGUAGES", "Language", "check_language", "placeholders", "t"]

Language = Literal["en", "fr", "es"]
#: language code → its name in that language (the switch's labels)
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español"}

CATALOGUE: dict[str, dict[str, str]] = {
    # ---------------------------------------------------------------- participant app
    "app_title": {"en": "PMM weighting exercise", "fr": "Exercice de pondération PMM",
                  "es": "Ejercicio de ponderación PMM"},
    "context": {"en": "Session {session} · region {region} · cycle {cycle} · {n} Members",
                "fr": "Session {session} · région {region} · cycle {cycle} · {n} Membres",
                "es": "Sesión {session} · región {region} · ciclo {cycle} · {n} Miembros"},
    "simulated": {"en": "Simulated data: the scores below are generated for training, not reported by Members.",
                  "fr": "Données simulées : les scores ci-dessous sont générés pour la formation, "
                        "ils n'ont pas été déclarés par les Membres.",
                  "es": "Datos simulados: las puntuaciones se generaron para formación, "
                        "no fueron declaradas por los Miembros."},
    "pseudonyms": {"en": "Members are shown by code names (pseudonyms) in this session.",
                   "fr": "Dans cette session, les Membres apparaissent sous un nom de code (pseudonyme).",
                   "es": "En esta sesión los Miembros aparecen con un nombre en clave (seudónimo)."},
    "language": {"en": "Language", "fr": "Langue", "es": "Idioma"},
    "choose_group": {"en": "Your group", "fr": "Votre groupe", "es": "Su grupo"},
    "join": {"en": "Join", "fr": "Rejoindre", "es": "Unirse"},
    "join_code": {"en": "or join code", "fr": "ou code", "es": "o código"},
    "join_help": {"en": "Pick your group (the facilitator registered the groups of this session) "
                        "or type the join code you were given.",
                  "fr": "Choisissez votre groupe (l'animateur a enregistré les groupes de cette session) "
                        "ou saisissez le code reçu.",
                  "es": "Elija su grupo (el facilitador registró los grupos de esta sesión) "
                        "o escriba el código recibido."},
    "unknown_code": {"en": "No group has the join code {code}. Check it with the facilitator.",
                     "fr": "Aucun groupe n'a le code {code}. Vérifiez-le avec l'animateur.",
                     "es": "Ningún grupo tiene el código {code}. Verifíquelo con el facilitador."},
    "held_elsewhere": {"en": "Group {group} is already open on another device (since {since}). "
                             "Two devices cannot work as one group.",
                       "fr": "Le groupe {group} est déjà ouvert sur un autre appareil (depuis {since}). "
                             "Deux appareils ne peuvent pas travailler comme un seul groupe.",
                       "es": "El grupo {group} ya está abierto en otro dispositivo (desde {since}). "
                             "Dos dispositivos no pueden trabajar como un solo grupo."},
    "take_over": {"en": "Continue here (the other device can no longer submit)",
                  "fr": "Continuer ici (l'autre appareil ne pourra plus soumettre)",
                  "es": "Continuar aquí (el otro dispositivo ya no podrá enviar)"},
    "other_group": {"en": "Choose another group", "fr": "Choisir un autre groupe", "es": "Elegir otro grupo"},
    "group_label": {"en": "Group: {group}", "fr": "Groupe : {group}", "es": "Grupo: {group}"},
    "method": {"en": "How do you weight?", "fr": "Comment pondérez-vous ?", "es": "¿Cómo pondera?"},
    "method_budget": {"en": "Share 100 points", "fr": "Répartir 100 points", "es": "Repartir 100 puntos"},
    "method_ahp": {"en": "Compare pairs", "fr": "Comparer par paires", "es": "Comparar por pares"},
    "budget_head": {"en": "Share 100 points across the four dimensions: type the points or move a slider "
                          "(a slider rebalances the unlocked others).",
                    "fr": "Répartissez 100 points entre les quatre dimensions : saisissez les points ou "
                          "déplacez un curseur (il rééquilibre les autres non verrouillés).",
                    "es": "Reparta 100 puntos entre las cuatro dimensiones: escriba los puntos o mueva un "
                          "control (reequilibra los demás no bloqueados)."},
    "lock": {"en": "lock", "fr": "bloquer", "es": "fijar"},
    "remaining": {"en": "Remaining: {n} points", "fr": "Reste à répartir : {n} points",
                  "es": "Por repartir: {n} puntos"},
    "over_budget": {"en": "Over budget by {n} points", "fr": "Dépassement de {n} points",
                    "es": "Exceso de {n} puntos"},
    "reset": {"en": "Back to the framework weights", "fr": "Revenir aux poids du cadre",
              "es": "Volver a los pesos del marco"},
    "ahp_head": {"en": "For each pair, which dimension matters more, and how much?",
                 "fr": "Pour chaque paire, quelle dimension compte le plus, et de combien ?",
                 "es": "Para cada par, ¿qué dimensión importa más y cuánto?"},
    "ahp_equal": {"en": "equally important", "fr": "importance égale", "es": "igual de importantes"},
    "ahp_more": {"en": "{name}: {verbal}", "fr": "{name} : {verbal}", "es": "{name}: {verbal}"},
    "v_equal": {"en": "equal", "fr": "égale", "es": "igual"},
    "v_equal to moderate": {"en": "equal to moderate", "fr": "égale à modérée", "es": "igual a moderada"},
    "v_moderate": {"en": "moderately more", "fr": "modérément plus", "es": "moderadamente más"},
    "v_moderate to strong": {"en": "moderately to strongly more", "fr": "modérément à fortement plus",
                             "es": "moderada a fuertemente más"},
    "v_strong": {"en": "strongly more", "fr": "fortement plus", "es": "fuertemente más"},
    "v_strong to very strong": {"en": "strongly to very strongly more", "fr": "fortement à très fortement plus",
                                "es": "fuerte a muy fuertemente más"},
    "v_very strong": {"en": "very strongly more", "fr": "très fortement plus", "es": "muy fuertemente más"},
    "v_very strong to extreme": {"en": "very strongly to extremely more", "fr": "très fortement à extrêmement plus",
                                 "es": "muy fuerte a extremadamente más"},
    "v_extreme": {"en": "extremely more", "fr": "extrêmement plus", "es": "extremadamente más"},
    "cr_ok": {"en": "Your comparisons are consistent (consistency ratio {cr}; up to 0.10 is fine).",
              "fr": "Vos comparaisons sont cohérentes (ratio de cohérence {cr} ; jusqu'à 0,10 c'est bien).",
              "es": "Sus comparaciones son coherentes (razón de consistencia {cr}; hasta 0,10 está bien)."},
    "cr_bad": {"en": "Your comparisons contradict each other (consistency ratio {cr}, above 0.10): "
                     "for example A over B and B over C, but C over A. The comparison that fits least is "
                     "{a} vs {b}: your other answers suggest “{suggest}”.",
               "fr": "Vos comparaisons se contredisent (ratio de cohérence {cr}, au-dessus de 0,10) : "
                     "par exemple A avant B et B avant C, mais C avant A. La comparaison la moins cohérente "
                     "est {a} / {b} : vos autres réponses suggèrent « {suggest} ».",
               "es": "Sus comparaciones se contradicen (razón de consistencia {cr}, mayor que 0,10): "
                     "por ejemplo A sobre B y B sobre C, pero C sobre A. La comparación que menos encaja es "
                     "{a} / {b}: sus otras respuestas sugieren «{suggest}»."},
    "apply_fix": {"en": "Apply the suggestion", "fr": "Appliquer la suggestion", "es": "Aplicar la sugerencia"},
    "confirm_cr": {"en": "Your comparisons are inconsistent (consistency ratio {cr}). Suggested fix: set "
                         "{a} vs {b} to “{suggest}”. Submit anyway?",
                   "fr": "Vos comparaisons sont incohérentes (ratio de cohérence {cr}). Correction suggérée : "
                         "{a} / {b} sur « {suggest} ». Soumettre quand même ?",
                   "es": "Sus comparaciones son incoherentes (razón de consistencia {cr}). Corrección sugerida: "
                         "{a} / {b} en «{suggest}». ¿Enviar de todos modos?"},
    "submit_anyway": {"en": "Submit anyway", "fr": "Soumettre quand même", "es": "Enviar de todos modos"},
    "cancel": {"en": "Cancel", "fr": "Annuler", "es": "Cancelar"},
    "weights_of": {"en": "Resulting weights (of 100): {weights}", "fr": "Poids obtenus (sur 100) : {weights}",
                   "es": "Pesos resultantes (de 100): {weights}"},
    "kpi_head": {"en": "Optional: weight the KPIs within a dimension (your choices are kept for every dimension).",
                 "fr": "Facultatif : pondérez les KPI d'une dimension (vos choix sont gardés pour chaque dimension).",
                 "es": "Opcional: pondere los KPI de una dimensión (se conservan sus elecciones en cada dimensión)."},
    "kpi_dim": {"en": "Dimension", "fr": "Dimension", "es": "Dimensión"},
    "kpi_none": {"en": "— choose a dimension —", "fr": "— choisir une dimension —", "es": "— elija una dimensión —"},
    "kpi_use": {"en": "Use my KPI weights for this dimension", "fr": "Utiliser mes poids de KPI pour cette dimension",
                "es": "Usar mis pesos de KPI en esta dimensión"},
    "kpi_set": {"en": "set", "fr": "défini", "es": "definido"},
    "outcome_head": {"en": "Expected outcome: {name}", "fr": "Résultat attendu : {name}",
                     "es": "Resultado esperado: {name}"},
    "submit": {"en": "Submit", "fr": "Soumettre", "es": "Enviar"},
    "not_submitted": {"en": "Not submitted yet.", "fr": "Pas encore soumis.", "es": "Aún no enviado."},
    "unsaved": {"en": "Unsaved changes: submit to share them.", "fr": "Modifications non enregistrées : "
                "soumettez-les pour les partager.", "es": "Cambios sin guardar: envíelos para compartirlos."},
    "saving": {"en": "Saving…", "fr": "Enregistrement…", "es": "Guardando…"},
    "saved": {"en": "Saved at {time} (revision {rev}).", "fr": "Enregistré à {time} (version {rev}).",
              "es": "Guardado a las {time} (versión {rev})."},
    "restored": {"en": "Your group's last submission ({time}, revision {rev}) is restored.",
                 "fr": "La dernière soumission de votre groupe ({time}, version {rev}) est rétablie.",
                 "es": "Se restauró el último envío de su grupo ({time}, versión {rev})."},
    "not_saved": {"en": "Not saved: {reason}", "fr": "Non enregistré : {reason}", "es": "No guardado: {reason}"},
    "lost_group": {"en": "this group is now open on another device. Join again to take it back.",
                   "fr": "ce groupe est maintenant ouvert sur un autre appareil. Rejoignez-le pour le reprendre.",
                   "es": "este grupo está ahora abierto en otro dispositivo. Únase de nuevo para recuperarlo."},
    "must_allocate": {"en": "share exactly 100 points first ({n} remaining).",
                      "fr": "répartissez d'abord exactement 100 points ({n} restants).",
                      "es": "reparta primero exactamente 100 puntos (quedan {n})."},
    "nothing_new": {"en": "Nothing new to submit: these are your saved weights.",
                    "fr": "Rien de nouveau à soumettre : ce sont vos poids enregistrés.",
                    "es": "Nada nuevo que enviar: son sus pesos guardados."},
    "outcome": {"en": "Compare with", "fr": "Comparer avec", "es": "Comparar con"},
    "no_outcomes": {"en": "(no outcome data)", "fr": "(pas de données de résultat)", "es": "(sin datos de resultados)"},
    "corr": {"en": "How closely the ranking follows “{outcome}”: {rho} (rank correlation from −1 to 1, "
                   "{n} Members; framework weights: {base}). {expect}",
             "fr": "Accord entre le classement et « {outcome} » : {rho} (corrélation de rangs de −1 à 1, "
                   "{n} Membres ; poids du cadre : {base}). {expect}",
             "es": "Cuánto sigue la clasificación a «{outcome}»: {rho} (correlación de rangos de −1 a 1, "
                   "{n} Miembros; pesos del marco: {base}). {expect}"},
    "expect_pos": {"en": "Higher is better here, so a good index gives a positive value.",
                   "fr": "Ici, plus haut est mieux : un bon indice donne une valeur positive.",
                   "es": "Aquí más alto es mejor: un buen índice da un valor positivo."},
    "expect_neg": {"en": "Lower is better here, so a good index gives a negative value.",
                   "fr": "Ici, plus bas est mieux : un bon indice donne une valeur négative.",
                   "es": "Aquí más bajo es mejor: un buen índice da un valor negativo."},
    "out_lpi_customs_2018": {"en": "Logistics Performance Index: customs (2018)",
                             "fr": "Indice de performance logistique : douanes (2018)",
                             "es": "Índice de desempeño logístico: aduanas (2018)"},
    "out_lpi_overall_2018": {"en": "Logistics Performance Index: overall (2018)",
                             "fr": "Indice de performance logistique : global (2018)",
                             "es": "Índice de desempeño logístico: general (2018)"},
    "out_db_import_border_2020": {"en": "Hours to import: border compliance (Doing Business 2020)",
                                  "fr": "Heures pour importer : passage de la frontière (Doing Business 2020)",
                                  "es": "Horas para importar: cumplimiento fronterizo (Doing Business 2020)"},
    "out_db_import_doc_2020": {"en": "Hours to import: documents (Doing Business 2020)",
                               "fr": "Heures pour importer : documents (Doing Business 2020)",
                               "es": "Horas para importar: documentos (Doing Business 2020)"},
    "out_db_export_border_2020": {"en": "Hours to export: border compliance (Doing Business 2020)",
                                  "fr": "Heures pour exporter : passage de la frontière (Doing Business 2020)",
                                  "es": "Horas para exportar: cumplimiento fronterizo (Doing Business 2020)"},
    "out_lpi_customs_2023": {"en": "Logistics Performance Index: customs (2023)",
                             "fr": "Indice de performance logistique : douanes (2023)",
                             "es": "Índice de desempeño logístico: aduanas (2023)"},
    "rank": {"en": "rank", "fr": "rang", "es": "puesto"},
    "member": {"en": "Member", "fr": "Membre", "es": "Miembro"},
    "score": {"en": "score (0–100)", "fr": "score (0–100)", "es": "puntuación (0–100)"},
    "framework_rank": {"en": "rank with framework weights", "fr": "rang avec les poids du cadre",
                       "es": "puesto con pesos del marco"},
    "change": {"en": "change", "fr": "évolution", "es": "cambio"},
    "top_of": {"en": "Top {top} of {n}.", "fr": "Les {top} premiers sur {n}.", "es": "Los {top} primeros de {n}."},
    "shift_title": {"en": "Largest moves against the framework weights (places)",
                    "fr": "Plus grands déplacements par rapport aux poids du cadre (places)",
                    "es": "Mayores movimientos frente a los pesos del marco (puestos)"},
    "no_shift": {"en": "Same ranks as with the framework weights.", "fr": "Mêmes rangs qu'avec les poids du cadre.",
                 "es": "Mismos puestos que con los pesos del marco."},
    "dashboard_refused": {"en": "This page is for the facilitator: open it with the dashboard link that "
                                "`pmm workshop register` or `pmm workshop serve` printed (it carries the key).",
                          "fr": "Cette page est réservée à l'animateur : ouvrez-la avec le lien du tableau de bord "
                                "affiché par `pmm workshop register` ou `pmm workshop serve` (il contient la clé).",
                          "es": "Esta página es para el facilitador: ábrala con el enlace del panel que mostró "
                                "`pmm workshop register` o `pmm workshop serve` (contiene la clave)."},
    "connection_lost": {"en": "Connection to the workshop server lost: your changes are not being saved. "
                               "Wait for the facilitator, then reload this page.",
                         "fr": "Connexion au serveur de l'atelier perdue : vos modifications ne sont pas "
                               "enregistrées. Attendez l'animateur, puis rechargez la page.",
                         "es": "Se perdió la conexión con el servidor del taller: sus cambios no se están "
                               "guardando. Espere al facilitador y vuelva a cargar la página."},
    "error": {"en": "Something went wrong: {reason}", "fr": "Une erreur est survenue : {reason}",
              "es": "Algo salió mal: {reason}"},
    # ---------------------------------------------------------------- facilitator dashboard
    "dash_title": {"en": "Facilitator dashboard", "fr": "Tableau de bord de l'animateur",
                   "es": "Panel del facilitador"},
    "dash_submitted": {"en": "{k} of {n} groups have submitted (updated {time}).",
                       "fr": "{k} groupes sur {n} ont soumis (mis à jour à {time}).",
                       "es": "{k} de {n} grupos han enviado (actualizado {time})."},
    "dash_groups": {"en": "Groups", "fr": "Groupes", "es": "Grupos"},
    "dash_group": {"en": "group", "fr": "groupe", "es": "grupo"},
    "dash_status": {"en": "status", "fr": "statut", "es": "estado"},
    "dash_waiting": {"en": "waiting", "fr": "en attente", "es": "en espera"},
    "dash_at": {"en": "submitted {time} (rev. {rev})", "fr": "soumis {time} (v. {rev})",
                "es": "enviado {time} (v. {rev})"},
    "dash_method": {"en": "method", "fr": "méthode", "es": "método"},
    "dash_flags": {"en": "flags", "fr": "alertes", "es": "alertas"},
    "flag_cr": {"en": "inconsistent comparisons (CR {cr})", "fr": "comparaisons incohérentes (RC {cr})",
                "es": "comparaciones incoherentes (RC {cr})"},
    "flag_block": {"en": "KPI weights in {blocks}: fewer than {k} groups, not in the consensus",
                   "fr": "poids de KPI dans {blocks} : moins de {k} groupes, hors consensus",
                   "es": "pesos de KPI en {blocks}: menos de {k} grupos, fuera del consenso"},
    "dash_weights": {"en": "Each group's dimension weights (points of 100)",
                     "fr": "Poids des dimensions par groupe (points sur 100)",
                     "es": "Pesos de las dimensiones por grupo (puntos de 100)"},
    "dash_consensus": {"en": "Consensus and spread", "fr": "Consensus et dispersion", "es": "Consenso y dispersión"},
    "dash_dimension": {"en": "dimension", "fr": "dimension", "es": "dimensión"},
    "dash_mean": {"en": "mean", "fr": "moyenne", "es": "media"},
    "dash_median": {"en": "median", "fr": "médiane", "es": "mediana"},
    "dash_sd": {"en": "sd", "fr": "é.-t.", "es": "d.e."},
    "dash_range": {"en": "range", "fr": "étendue", "es": "rango"},
    "dash_ahp_note": {"en": "{k} AHP group(s) combined by the geometric mean of their judgements "
                            "(consistency ratio of the combined matrix {cr}).",
                      "fr": "{k} groupe(s) AHP combinés par la moyenne géométrique de leurs jugements "
                            "(ratio de cohérence de la matrice combinée {cr}).",
                      "es": "{k} grupo(s) AHP combinados por la media geométrica de sus juicios "
                            "(razón de consistencia de la matriz combinada {cr})."},
    "dash_blocks": {"en": "KPI weights of {dim}: set by {k} group(s) — {state}",
                    "fr": "Poids des KPI de {dim} : définis par {k} groupe(s) — {state}",
                    "es": "Pesos de KPI de {dim}: definidos por {k} grupo(s) — {state}"},
    "dash_in": {"en": "in the consensus", "fr": "dans le consensus", "es": "en el consenso"},
    "dash_out": {"en": "not in the consensus (fewer than {k})", "fr": "hors consensus (moins de {k})",
                 "es": "fuera del consenso (menos de {k})"},
    "dash_effect": {"en": "Effect on the ranking", "fr": "Effet sur le classement", "es": "Efecto en la clasificación"},
    "dash_effect_sum": {"en": "{moved} Members move {places} or more places under the mean consensus; "
                              "mean and median consensus differ by {diff} Members in the top {top}.",
                        "fr": "{moved} Membres bougent de {places} places ou plus avec le consensus moyen ; "
                              "les consensus moyen et médian diffèrent de {diff} Membres dans les {top} premiers.",
                        "es": "{moved} Miembros se mueven {places} o más puestos con el consenso medio; "
                              "los consensos medio y mediano difieren en {diff} Miembros entre los {top} primeros."},
    "dash_rank_range": {"en": "range across groups", "fr": "étendue entre groupes", "es": "rango entre grupos"},
    "dash_export": {"en": "Export the scenario", "fr": "Exporter le scénario", "es": "Exportar el escenario"},
    "dash_exported": {"en": "Exported {files}.", "fr": "Exporté : {files}.", "es": "Exportado: {files}."},
    "dash_none": {"en": "No submissions yet.", "fr": "Aucune soumission pour l'instant.",
                  "es": "Aún no hay envíos."},
    "dash_statistic": {"en": "Scenario from the", "fr": "Scénario selon la", "es": "Escenario según la"},
}


def check_language(lang: str) -> str:
    """Return ``lang`` if it is one of :data:`LANGUAGES`, else raise naming the allowed ones."""
    if lang not in LANGUAGES:
        raise SpecError(f"unknown language {lang!r}; allowed: {', '.join(LANGUAGES)}")
    return lang


def t(key: str, lang: str = "en", **fmt: object) -> str:
    """The catalogue string for ``key`` in ``lang`` (English if missing), formatted with ``fmt``.

    Raises
    ------
    SpecError
        Unknown key or language.
    """
    check_language(lang)
    try:
        entry = CATALOGUE[key]
    except KeyError:
        raise SpecError(f"no string {key!r} in the workshop catalogue") from None
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a catalogue string."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}
